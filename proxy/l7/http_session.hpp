// One downstream HTTP/1.1 connection: parses requests (strictly, see
// proxy/http/), routes each to a direct response or a cluster, forwards it on a
// pooled keep-alive upstream connection, streams bodies both ways without
// buffering them whole, answers pipelined requests in order, and tunnels after
// a 101. Lives on one worker thread. The client half is in http_session.cpp,
// the upstream half in http_upstream_side.cpp.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "limiter/concurrency_limit.hpp"
#include "proxy/access_log/record.hpp"
#include "proxy/l7/h1/body_scanner.hpp"
#include "proxy/l7/h1/head_parser.hpp"
#include "proxy/upstream/load_ticket.hpp"
#include "proxy/upstream/outcome.hpp"
#include "proxy/core/chunk_queue.hpp"
#include "proxy/session/session.hpp"
#include "proxy/upstream/upstream_connection.hpp"

namespace sluice::proxy {

class Worker;
class WorkerListener;

class HttpSession final : public Session, public UpstreamOwner {
 public:
  HttpSession(Worker& worker, WorkerListener& listener, int client_fd);
  ~HttpSession() override;
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  void start();
  void abort() override;
  void drain() override;
  void on_completion(unsigned op, int result, unsigned flags) override;
  void on_timer(int kind) override;
  void on_buffers_available() override;

  void on_upstream_connected(int result) override;
  void on_upstream_input() override;
  void on_upstream_sent() override;
  void on_upstream_error(int error) override;

 private:
  enum Op : unsigned { kReceive = 1, kSend };
  static constexpr http::Limits kLimits{};
  enum Timer : int { kHeaderTimer = 1, kRequestTimer, kLingerTimer };
  // Where the current request stands on the client side...
  enum class RequestState { head, body, done, tunnel };
  // ...and its response on the upstream side.
  enum class ResponseState { none, head, body, tunnel };

  void submit(io_uring_sqe* sqe, unsigned op);
  void arm_receive();
  void on_receive(int result, unsigned flags);
  void send_to_client();
  void on_send(int result);
  void touch();

  // Moves bytes as far as they can go; every event ends here.
  void pump();
  void read_requests();
  void read_responses();
  void adjust_backpressure();
  // Forwards half-closes in an upgraded tunnel; true when the session ended.
  bool finish_tunnel();

  void on_request_head();
  void dispatch();
  // Scans the request body bytes already received; false (and a 400 queued)
  // when their framing is bad.
  bool body_framing_ok();
  bool connect_upstream();
  bool retry(const char* why);
  bool retry_stale();
  void on_response_head();
  void finish_response();
  // BodyScanner payload sink while de-chunking: forwards one span of payload.
  static void forward_payload(void* context, size_t offset, size_t length);
  // Queues a short response. keep_alive: the request was well framed, so the
  // connection can go on (its body is skipped); otherwise it closes after.
  void respond_error(int status, std::string_view code, std::string_view body = {},
                     std::string_view extra_headers = {}, bool keep_alive = false);
  // Applies a route's rate limit; on denial the 429 is already queued.
  bool admit(const RateLimitRuntime& limit, size_t route_index);
  void close_after_flush();
  void release_upstream(bool reusable);

  // Metrics and the access log (http_exchange.cpp). An exchange is one
  // request and its response: it begins with the head's first bytes and ends
  // when the response is complete or the connection goes.
  void begin_exchange();
  // Between requests: moves a session accepted before a reload onto the
  // running config, like a new connection would be.
  void follow_reload();
  // The status of the response queued to the client (sluice's own or the
  // endpoint's); `error` is the x-sluice-error code of sluice's own.
  void note_response(int status, std::string_view error = {});
  // An attempt went to an endpoint (also each retry); the response head that came back.
  void note_dispatch(bool retry);
  void note_upstream_head(int status, int64_t now_ns);
  void end_exchange();
  metrics::ClusterCounters* cluster_counters();

  Worker& worker_;
  WorkerListener* listener_;  // of the generation the session runs under
  int client_fd_;
  char client_ip_[INET6_ADDRSTRLEN] = "";
  Pipe client_in_;
  Pipe client_out_;
  unsigned in_flight_ = 0;
  bool closing_ = false;
  bool in_callback_ = false;
  bool pumping_ = false;
  bool close_after_flush_ = false;
  bool lingering_ = false;
  bool listener_removed_ = false;  // a reload removed its listener: no further requests

  // The request being served.
  http::HeadParser request_parser_;
  http::BodyScanner request_body_;
  RequestState request_state_ = RequestState::head;
  bool request_started_ = false;  // bytes of the current head have arrived
  bool discard_body_ = false;     // a direct response: the request body goes nowhere
  bool client_keep_alive_ = true;
  const config::Route* route_ = nullptr;
  const ClusterRuntime* cluster_ = nullptr;
  std::string method_;  // the response parser needs it after the request parser moved on
  std::string request_id_;
  uint64_t tried_ = 0;  // endpoints tried for this request (first 64)
  uint64_t key_ = 0;    // consistent hashing: the request's key
  LoadTicket load_;     // counts this request against its endpoint
  BreakerTicket breaker_;
  limiter::ConcurrencyPermit request_permit_;  // cluster max_requests
  limiter::ConcurrencyPermit pending_permit_;  // cluster max_pending, while connecting
  int64_t dispatched_ns_ = 0;
  int attempts_left_ = 0;
  bool response_seen_ = false;  // response bytes reached the client: no retry any more
  bool stale_retried_ = false;  // the one retry after a dead pooled connection is used
  bool avoid_pool_ = false;     // that retry wants a fresh connection
  uint32_t endpoint_ = 0;       // the endpoint of the current (or last) attempt

  // Its response.
  UpstreamConnection* upstream_ = nullptr;
  bool upstream_reused_ = false;
  http::HeadParser response_parser_;
  http::BodyScanner response_body_;
  ResponseState response_state_ = ResponseState::none;
  bool response_until_close_ = false;
  bool response_keep_alive_ = true;
  bool dechunk_ = false;  // HTTP/1.0 client, chunked response: payload only
  // Where the response bytes being scanned live, for forward_payload().
  uint16_t payload_buffer_ = 0;
  uint32_t payload_offset_ = 0;

  // The exchange in progress, for the metrics and the access log.
  struct Exchange {
    bool active = false;
    bool has_head = false;    // the request head parsed: method and path are known
    bool dispatched = false;  // an endpoint was picked: endpoint_ is this request's
    int status = 0;           // of the response queued to the client; 0: none yet
    std::string_view error;
    int64_t start_ns = 0;  // monotonic
    int64_t start_unix_ns = 0;
    int64_t upstream_ns = -1;  // last attempt: dispatch to response head
    uint64_t in_mark = 0;      // client_in_/client_out_ totals at the start
    uint64_t out_mark = 0;
    access_log::LimitOutcome limit = access_log::LimitOutcome::none;
    access_log::BreakerOutcome breaker = access_log::BreakerOutcome::none;
  } exchange_;
  char client_address_[64] = "";  // "ip:port", for the access log

  TimerNode header_timer_{this, kHeaderTimer};
  TimerNode request_timer_{this, kRequestTimer};
};

}  // namespace sluice::proxy
