// One HTTP request and its response, whatever the client's protocol: route,
// admission (413, 429, cluster caps, circuit breaker), hash key, endpoint pick,
// attempts and retries, the request forwarded and the response read back from
// an HTTP/1.1 endpoint, metrics and the access log record. A downstream
// connection runs one at a time (HTTP/1) or one per stream (HTTP/2); it feeds
// the request in and hears about the response through its ExchangeSink.
// Worker thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "limiter/concurrency_limit.hpp"
#include "limiter/retry_budget.hpp"
#include "proxy/core/alarms.hpp"
#include "proxy/core/chunk_queue.hpp"
#include "proxy/core/ring_timer.hpp"
#include "proxy/core/timer_list.hpp"
#include "proxy/l7/exchange_sink.hpp"
#include "proxy/l7/h1/body_scanner.hpp"
#include "proxy/l7/h1/head_parser.hpp"
#include "proxy/l7/h1/serialize.hpp"
#include "proxy/l7/http_listener.hpp"
#include "proxy/l7/limit_admission.hpp"
#include "proxy/l7/rules/client_address.hpp"
#include "proxy/l7/rules/header_plan.hpp"
#include "proxy/session/exchange_record.hpp"
#include "proxy/session/session.hpp"
#include "proxy/upstream/attempt.hpp"
#include "proxy/upstream/breaker_ticket.hpp"

namespace sluice::proxy {

class Exchange final : public UpstreamOwner,
                       public TimerOwner,
                       public RingTimerOwner,
                       public AlarmOwner {
 public:
  static constexpr http::Limits kLimits{};

  explicit Exchange(ExchangeSink& sink);
  // Without a sink yet: a connection that takes exchanges from a cache points
  // each at itself (set_sink) before begin().
  Exchange();
  void set_sink(ExchangeSink& sink) { sink_ = &sink; }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange();

  // The first bytes of a request arrived on `host` (the access log's start).
  // `client_ip` and `client_address` ("ip:port", for the log) must outlive it.
  void begin(SessionHost& host, const HttpListener& listener, std::string_view client_ip,
             std::string_view client_address, const ClientFacts* facts = nullptr);
  // After begin(): the client's connection, whose address and TLS facts a cluster with
  // `proxy_protocol` sends ahead of the request. It must outlive the exchange.
  void set_client_stream(const Stream* stream) { client_.stream = stream; }
  // The request head, valid until end(): routes, admits and dispatches it, or
  // answers through the sink.
  void on_request_head(const http::Head& head);
  // An error the connection found itself (a bad request, a slow client).
  void respond_error(int status, std::string_view code, bool keep_alive = false);
  // Request body bytes, a slice of a receive buffer; `body_bytes`: payload
  // bytes so far. False when the exchange refused them (413 queued or failed).
  bool on_request_body(uint16_t buffer, uint32_t offset, uint32_t length, uint64_t body_bytes);
  // Request bytes queued for the endpoint and not sent yet (backpressure on the client).
  size_t request_backlog() const;
  // Sends what the request side queued (once per batch of client input).
  void flush();
  void on_request_end();
  // After a 101: raw bytes from the client, and the client's FIN.
  void on_tunnel_data(uint16_t buffer, uint32_t offset, uint32_t length);
  void on_tunnel_client_eof();
  // The tunnel's half towards the endpoint is closed (its FIN went out).
  bool tunnel_upstream_shut() const;
  // The endpoint an upgraded connection's tunnel runs to; null when not tunnelling.
  const EndpointState* tunnel_endpoint() const;
  // The client took response bytes: read more from the endpoint.
  void on_client_drained();
  // Ends the exchange: the access log record (the client side's byte counts),
  // and the endpoint connection goes back to the pool when it is clean.
  // Idempotent; the connection calls it once the response is out or it gives up.
  void end(uint64_t bytes_received, uint64_t bytes_sent);
  // The connection is being cut (e.g. at the drain deadline): the access log says why,
  // unless the exchange already ended for a reason of its own.
  void note_cut(std::string_view reason) {
    if (flags_.active && record_.error.empty()) record_.error = reason;
  }

  bool active() const { return flags_.active; }
  // Held by a shaping rate limit until its slot comes (nothing has gone upstream yet).
  bool queued() const { return limits_.waiting(); }
  // Header lines for the response to this request (RateLimit of limits with `headers:
  // always`), complete "Name: value\r\n" lines; empty when none.
  std::string_view response_headers() const { return response_headers_; }
  // A request is with an endpoint and its response is not complete.
  bool awaiting_response() const { return response_.phase != Phase::none; }
  // Response bytes reached the client: no retry and no clean error any more.
  bool response_started() const { return flags_.response_seen; }
  const RouteRuntime* route() const { return request_.route; }
  // The route's response header rules, rendered for this exchange: what the connection
  // applies as it writes the endpoint's final response head.
  const http::HeaderEdits& response_edits() const { return rules_.response; }

  void on_upstream_connected(UpstreamConnection& connection, int result) override;
  void on_upstream_input(UpstreamConnection& connection) override;
  void on_upstream_sent(UpstreamConnection& connection) override;
  void on_upstream_error(UpstreamConnection& connection, int error) override;
  void on_timer(int kind) override;
  void on_ring_timer(int kind) override;
  // A queued request's slot has come: it goes on.
  void on_alarm() override;

 private:
  enum RingTimerKind { kBackoff, kDeadline };
  // Where the response from the endpoint stands.
  enum class Phase { none, head, body, tunnel };

  // Request side (exchange.cpp).
  // The route's rate limits: true when the request goes on now; false when it was refused (429
  // sent) or queued (on_alarm goes on).
  bool admit_limits();
  // Everything after the rate limits: direct response, or cluster admission and dispatch.
  void go_on();
  // A queued request that will not leave (its client went away): its slots are given back.
  void abandon_queued();
  void dispatch();
  void respond(const LocalResponse& response);
  void note_response(int status, std::string_view error = {});
  // Traffic policy (exchange_policy.cpp): admission to a cluster (caps, breaker, key, sticky
  // cookie, retry budget), going upstream (request id, timers), the fallback when the cluster
  // cannot answer, retries' budget and back-off, deadline propagation.
  bool admit_to_cluster(const ClusterRuntime& cluster);
  void go_upstream();
  void give_up(config::FallbackReason reason, const LocalResponse& error);
  bool retry_allowed();
  bool start_backoff();
  void cancel_backoff();
  bool read_client_deadline();
  void start_request_timer();
  void stop_request_timer();
  std::string deadline_header() const;
  std::string_view sticky_cookie() const;
  // Rules (exchange_rules.cpp): who the client is, access control, redirects, rewrites.
  bool admit_client();
  bool admit_to_route();
  void deny(std::string_view code);
  void redirect(const config::Redirect& redirect);
  void apply_request_rules(http::ForwardContext& ctx);
  void render_response_rules();
  rules::TemplateContext template_context() const;
  // Response side (exchange_response.cpp).
  bool connect_upstream();
  bool retry(const char* why);
  bool retry_stale();
  void read_response();
  void on_response_head();
  void on_response_eof();
  void finish_response();
  void release_upstream(bool reusable);
  // The endpoint failed this request without an answer: passive health hears it.
  void endpoint_failed();
  static void forward_payload(void* context, size_t offset, size_t length);
  UpstreamConnection* upstream() const { return attempt_.connection(); }
  metrics::ClusterCounters& cluster_counters() const;
  // Where the client-facing response counts go: the route's, or the listener's unrouted ones.
  metrics::RouteStats* route_stats() const;

  // Who asked: the connection's host and listener, and the client, for keys and the log.
  struct Client {
    SessionHost* host = nullptr;
    const HttpListener* listener = nullptr;
    std::string_view ip;       // the client's: the peer's, or the one behind trusted proxies
    std::string_view address;  // for the access log: "ip:port", or the ip behind proxies
    std::string_view peer_ip;  // the socket's (or PROXY header's): what X-Forwarded-For gets
    const ClientFacts* facts = nullptr;  // TLS (and PROXY protocol) facts; null: none
    // The client's connection, for the PROXY header of a cluster that sends one; may be null.
    const Stream* stream = nullptr;
    rules::IpAddress parsed;  // `ip`, parsed when the listener or a route checks it
  };
  // Rendered rules, their buffers reused from one exchange to the next.
  struct Rules {
    std::string request_lines;
    std::string response_lines;
    std::string path;  // a rewritten path, or the scratch of a redirect's
    std::string location;
    http::HeaderEdits response;
  };
  // What is asked, and where it goes once routed and admitted.
  struct Request {
    const http::Head* head = nullptr;  // valid until end()
    const RouteRuntime* route = nullptr;
    const ClusterRuntime* cluster = nullptr;  // once admitted to its cluster
    std::string method;  // the response parser needs it after the head may have moved on
    std::string id;      // X-Request-Id
    std::optional<uint32_t> sticky;  // the endpoint its sticky cookie names, in `cluster`
    int64_t client_budget_ms = -1;   // a trusted caller's deadline header; -1: none
    int64_t deadline_ns = 0;         // monotonic: when the request timeout runs out
  };
  // The endpoint's answer as it is read.
  struct Response {
    http::HeadParser parser;
    http::BodyScanner body;
    Phase phase = Phase::none;
    uint16_t payload_buffer = 0;  // where the bytes being scanned live, for forward_payload()
    uint32_t payload_offset = 0;
  };
  struct Flags {
    bool active = false;
    bool request_done = false;   // the whole request body went (or none was due)
    bool response_seen = false;  // response bytes went to the client
    bool response_keep_alive = true;
    bool dechunk = false;        // the sink wants the payload only
    bool stale_retried = false;  // the one retry after a dead pooled connection is used
    bool fell_back = false;      // the route's fallback took over (only once)
    bool backing_off = false;    // a retry waits for backoff_timer_
    bool resend_held = false;    // ...and will send held_ (a connect failed) instead of the head
  };

  ExchangeSink* sink_ = nullptr;
  Client client_;
  Rules rules_;
  Request request_;
  Response response_;
  Attempt attempt_;
  BreakerTicket breaker_;
  limiter::ConcurrencyPermit request_permit_;  // cluster max_requests
  ExchangeRecord record_;
  LimitAdmission limits_;
  std::string response_headers_;
  Alarm limit_alarm_{this};
  TimerNode request_timer_{this, 0};
  RingTimer deadline_timer_{this, kDeadline};  // a client's deadline shorter than the route's
  RingTimer backoff_timer_{this, kBackoff};
  limiter::RetryBudgetTicket budget_;
  ChunkQueue held_;  // the request, while a retry after a failed connect backs off
  Flags flags_;
};

}  // namespace sluice::proxy
