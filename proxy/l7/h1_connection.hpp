// One downstream HTTP/1.1 connection: parses requests strictly (l7/h1/), runs
// each as an Exchange, one at a time, and writes responses in order. What is
// HTTP/1 stays here: pipelining (the next request waits for the response
// before it), 100-continue and other interim responses, Upgrade tunnels after
// a 101, keep-alive and Connection: close, de-chunking for HTTP/1.0 clients,
// the header timeout against slow clients, and the lingering close. Requests
// and responses stream through without being buffered whole. Worker thread only.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>

#include "proxy/core/loop.hpp"
#include "proxy/core/timer_list.hpp"
#include "proxy/l7/exchange.hpp"
#include "proxy/l7/h1/body_scanner.hpp"
#include "proxy/l7/h1/head_parser.hpp"
#include "proxy/l7/http_listener.hpp"
#include "proxy/session/session.hpp"
#include "proxy/stream/stream.hpp"

namespace sluice::proxy {

// What one request in flight needs: its parsers and its Exchange. An idle
// connection holds none; they come from a small per-thread cache and go back
// to it, so an idle keep-alive connection stays small and a request costs no
// allocation.
struct H1Request {
  H1Request();
  Exchange exchange;
  http::HeadParser parser;
  http::BodyScanner body;
  http::Error body_error;  // check_buffered_body()'s answer
};

class H1Connection final : public Session,
                           public StreamOwner,
                           public ExchangeSink,
                           public TimerOwner,
                           public Task {
 public:
  H1Connection(SessionHost& host, const HttpListener& listener, std::unique_ptr<Stream> client);
  ~H1Connection() override;
  H1Connection(const H1Connection&) = delete;
  H1Connection& operator=(const H1Connection&) = delete;

  void start() override;
  void abort() override;
  void cut(std::string_view reason) override;
  const EndpointState* relay_endpoint() const override;
  void drain() override;

  void on_stream_input(Stream& stream) override;
  void on_stream_sent(Stream& stream) override;
  void on_stream_error(Stream& stream, int error) override;
  void on_stream_closed(Stream& stream) override;
  void on_timer(int kind) override;
  void run_task() override { drive(); }

  // ExchangeSink (h1_responses.cpp).
  void on_interim_response(const http::Head& head) override;
  bool on_response_head(const http::Head& head, std::string_view extra_headers) override;
  void on_response_body(uint16_t buffer, uint32_t offset, uint32_t length) override;
  void on_response_end() override;
  void on_local_response(const LocalResponse& response) override;
  void on_exchange_failed() override;
  void on_request_drained() override { schedule(); }
  size_t response_backlog() const override { return client_->out.queued_bytes(); }
  const http::Error* check_buffered_body() override;

 private:
  // A request head must arrive whole within the listener's timeouts.header
  // (slowloris); a closing connection drains the client's late bytes for at
  // most timeouts.linger so that its last response is not destroyed by a reset.
  uint64_t header_timeout_ms() const { return ms(listener_->config.timeouts.header); }
  uint64_t linger_ms() const { return ms(listener_->config.timeouts.linger); }
  static uint64_t ms(config::Duration d) { return static_cast<uint64_t>(d.count()); }
  enum Timer : int { kIdleTimer = 0, kHeaderTimer };
  // Where the current request stands.
  enum class RequestState { head, body, done, tunnel };

  // Moves everything as far as it can go; every event ends here (or posts it).
  void drive();
  // From inside an exchange's call: drive once that call has returned.
  void schedule();
  // Requests (h1_requests.cpp).
  void read_requests();
  void read_request_bytes();
  void on_client_eof();
  void begin_exchange();
  void on_request_head();
  // Both the request and its response are done: the next request, or the close.
  void finish_exchange();
  void end_exchange();
  void follow_reload();
  // The connection's end.
  // Ends the connection now; `reset`: abortively (RST).
  void abort(bool reset);
  void close_after_flush();
  void maybe_linger();
  void finish_tunnel();
  void adjust_backpressure();
  void touch();
  bool awaiting_response() const { return request_ && request_->exchange.awaiting_response(); }
  // The cache's: taken when a request's first bytes arrive, given back when
  // the connection is idle again.
  void acquire_request();
  void release_request();

  const HttpListener* listener_;  // of the generation the connection runs under
  std::unique_ptr<Stream> client_;
  std::unique_ptr<H1Request> request_;  // null while idle between requests
  RequestState request_state_ = RequestState::head;
  uint64_t in_mark_ = 0;  // the client's byte totals when the exchange began, for the log
  uint64_t out_mark_ = 0;
  TimerNode idle_timer_{this, kIdleTimer};
  TimerNode header_timer_{this, kHeaderTimer};  // also the linger deadline
  struct Flags {
    bool request_started = false;  // bytes of the current head have arrived
    bool head_request = false;     // the request is HEAD: responses carry no body
    bool keep_alive = true;        // the client may send another request after this one
    bool response_done = false;    // the response to the current request is queued whole
    bool tunnel_upstream_eof = false;
    bool close_after_flush = false;
    bool lingering = false;
    bool listener_removed = false;  // a reload removed its listener: no further requests
    bool failed = false;            // the exchange cannot complete its response
    bool closing = false;
    bool driving = false;
    bool again = false;  // something changed while driving: go round once more
  } flags_;
  char client_ip_[INET6_ADDRSTRLEN] = "";
  char client_address_[64] = "";  // "ip:port", for the access log
};

}  // namespace sluice::proxy
