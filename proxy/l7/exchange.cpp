// The request side of an Exchange: routing, admission, dispatch, forwarding
// the body, sluice's own responses, metrics and the access log. The response
// side is in exchange_response.cpp.
#include "proxy/l7/exchange.hpp"

#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"
#include "proxy/l7/request_id.hpp"
#include "proxy/l7/request_key.hpp"

namespace sluice::proxy {

Exchange::Exchange(ExchangeSink& sink) : Exchange() {
  sink_ = &sink;
}

Exchange::Exchange() : response_{http::HeadParser::response(kLimits, "GET"), {}} {}

Exchange::~Exchange() {
  TimerList::stop(request_timer_);
  release_upstream(false);
}

void Exchange::begin(SessionHost& host, const HttpListener& listener, std::string_view client_ip,
                     std::string_view client_address) {
  client_ = Client{&host, &listener, client_ip, client_address, client_ip};
  rules_.response = {};
  release_upstream(false);  // none is held between exchanges; this makes sure
  attempt_.clear();
  request_.head = nullptr;
  request_.route = nullptr;
  request_.cluster = nullptr;
  request_.method.clear();  // keeps the capacity
  request_.id.clear();
  response_.phase = Phase::none;
  flags_ = Flags{};
  flags_.active = true;
  record_ = ExchangeRecord{};
  record_.start_ns = clock::monotonic_ns();
}

void Exchange::on_request_head(const http::Head& head) {
  request_.head = &head;
  // The client's id, for the access log even when sluice answers itself; one
  // is made up only for requests that go upstream.
  if (const http::Header* id = head.find("x-request-id")) request_.id.assign(id->value);
  request_.method.assign(head.method);
  flags_.request_done = !head.has_body();

  if (!admit_client()) return;
  request_.route = client_.listener->match(head);
  if (request_.route == nullptr) {
    respond(LocalResponse::error(404, "no-route", true));
    return;
  }
  if (!admit_to_route()) return;
  const config::Route& route = *request_.route->config;
  // A declared length over the route's limit is refused before anything moves;
  // a chunked body is measured as it streams (on_request_body).
  if (route.max_request_body != 0 && head.framing == http::Framing::content_length &&
      head.content_length > route.max_request_body) {
    respond(LocalResponse::error(413, "body-too-large"));
    return;
  }
  // The listener's limit counts every request on it, then the route's its own.
  if (client_.listener->rate_limit != nullptr && !admit(*client_.listener->rate_limit)) return;
  if (request_.route->rate_limit != nullptr && !admit(*request_.route->rate_limit)) return;
  if (route.redirect) {
    redirect(*route.redirect);
    return;
  }
  if (route.direct_response) {
    note_response(route.direct_response->status);
    LocalResponse direct;
    direct.status = route.direct_response->status;
    direct.body = route.direct_response->body;
    direct.keep_alive = true;
    direct.direct = true;
    sink_->on_local_response(direct);
    return;
  }
  request_.cluster = request_.route->cluster;
  const ClusterRuntime& cluster = *request_.cluster;
  // Cluster-level admission: in-flight cap, then the circuit breaker.
  if (cluster.limits) {
    request_permit_ = limiter::ConcurrencyPermit::try_acquire(cluster.limits->requests);
    if (!request_permit_) {
      cluster_counters().refused_by(metrics::ClusterCap::max_requests);
      respond(LocalResponse::error(503, "cluster-max-requests", true));
      return;
    }
  }
  if (!breaker_.begin(cluster, clock::monotonic_ns())) {
    request_permit_.reset();
    record_.breaker = access_log::BreakerOutcome::rejected;
    respond(LocalResponse::error(503, "circuit-open", true));
    return;
  }
  if (cluster.breaker) record_.breaker = access_log::BreakerOutcome::allowed;
  const uint64_t key =
      cluster.needs_key ? request_key(cluster.config->balancer.key, head, client_.ip) : 0;
  attempt_.begin(cluster, key, 1 + route.retries.attempts);
  if (request_.id.empty()) request_.id = next_request_id(client_.host->worker_index());
  // Body bytes that came with the head are checked before anything goes
  // upstream, so bad chunk framing in one write never reaches an endpoint.
  if (!flags_.request_done) {
    if (const http::Error* e = sink_->check_buffered_body()) {
      breaker_.cancel();
      request_permit_.reset();
      respond(LocalResponse::error(e->status, e->code));
      return;
    }
  }
  client_.host->loop()
      .timers(static_cast<uint64_t>(route.timeouts.request.count()))
      .start(request_timer_, client_.host->loop().now_ms());
  dispatch();
}

bool Exchange::admit(const RateLimitRuntime& limit) {
  const limiter::Decision d = limit.admit(
      request_limit_key(limit.config->key, *request_.head, client_.ip, request_.route->limit_key),
      client_.host->worker_index());
  if (d.admitted) {
    record_.limit = access_log::LimitOutcome::admitted;
    return true;
  }
  record_.limit = access_log::LimitOutcome::limited;
  // IETF httpapi ratelimit headers (structured-field form) plus Retry-After in
  // whole seconds, rounded up so a client that obeys it is admitted.
  constexpr int64_t kSecond = 1000000000;
  const int64_t retry_s = d.retry_after < 0 ? 3600 : (d.retry_after + kSecond - 1) / kSecond;
  const int64_t reset_s = (d.reset + kSecond - 1) / kSecond;
  const std::string headers = "Retry-After: " + std::to_string(retry_s) +
                              "\r\nRateLimit-Policy: " + limit.policy + "\r\nRateLimit: \"" +
                              limit.config->name + "\";r=" + std::to_string(d.remaining) +
                              ";t=" + std::to_string(reset_s) + "\r\n";
  LocalResponse limited = LocalResponse::error(429, "rate-limited", true);
  limited.extra_headers = headers;
  respond(limited);
  return false;
}

void Exchange::dispatch() {
  response_.phase = Phase::head;
  response_.parser.reset(request_.method);
  if (!connect_upstream()) return;
  std::string out;
  http::ForwardContext ctx;
  ctx.client_ip = client_.peer_ip;  // the hop X-Forwarded-For adds is the one sluice saw
  ctx.request_id = request_.id;
  ctx.upgrade = request_.head->upgrade;
  apply_request_rules(ctx);
  http::serialize_request(*request_.head, ctx, out);
  // Queued, not sent: the body bytes that came with it go in the same send (flush()).
  upstream()->out().push_owned(std::move(out));
}

void Exchange::flush() {
  if (UpstreamConnection* c = upstream()) c->stream().send();
}

void Exchange::respond_error(int status, std::string_view code, bool keep_alive) {
  respond(LocalResponse::error(status, code, keep_alive));
}

void Exchange::respond(const LocalResponse& response) {
  LOG_DEBUG("listener %s: %d %.*s", client_.listener->config.name.c_str(), response.status,
            static_cast<int>(response.code.size()), response.code.data());
  release_upstream(false);
  response_.phase = Phase::none;
  // Answered: the request timeout (the endpoint's time to answer) is over; a
  // body still arriving to be skipped is the idle timeout's business.
  TimerList::stop(request_timer_);
  note_response(response.status, response.code);
  sink_->on_local_response(response);
}

void Exchange::note_response(int status, std::string_view error) {
  record_.status = status;
  record_.error = error;
  if (metrics::RouteStats* stats = route_stats())
    stats->per_worker.at(client_.host->worker_index())
        .count(request_.head != nullptr ? metrics::method_index(request_.head->method)
                                        : metrics::kOtherMethod,
               status);
}

metrics::RouteStats* Exchange::route_stats() const {
  return request_.route != nullptr ? request_.route->stats.get()
                                   : client_.listener->unrouted_stats.get();
}

bool Exchange::on_request_body(uint16_t buffer, uint32_t offset, uint32_t length,
                               uint64_t body_bytes) {
  if (request_.route != nullptr && request_.route->config->max_request_body != 0 &&
      body_bytes > request_.route->config->max_request_body) {
    // Too late for a clean 413 once the endpoint has answered; then just close.
    if (flags_.response_seen) {
      sink_->on_exchange_failed();
    } else {
      respond(LocalResponse::error(413, "body-too-large"));
    }
    return false;
  }
  if (UpstreamConnection* c = upstream())
    c->out().push_slice(client_.host->loop().buffers(), buffer, offset, length);
  return true;
}

size_t Exchange::request_backlog() const {
  UpstreamConnection* c = upstream();
  return c != nullptr ? c->out().queued_bytes() : 0;
}

void Exchange::on_request_end() {
  flags_.request_done = true;
}

void Exchange::on_tunnel_data(uint16_t buffer, uint32_t offset, uint32_t length) {
  if (UpstreamConnection* c = upstream())
    c->out().push_slice(client_.host->loop().buffers(), buffer, offset, length);
}

void Exchange::on_tunnel_client_eof() {
  if (UpstreamConnection* c = upstream()) c->stream().shutdown_after_send();
}

bool Exchange::tunnel_upstream_shut() const {
  UpstreamConnection* c = upstream();
  return c == nullptr || c->stream().shut();
}

const EndpointState* Exchange::tunnel_endpoint() const {
  if (response_.phase != Phase::tunnel || upstream() == nullptr) return nullptr;
  return &upstream()->cluster.endpoints.state(upstream()->endpoint);
}

void Exchange::end(uint64_t bytes_received, uint64_t bytes_sent) {
  if (!flags_.active) return;
  flags_.active = false;
  TimerList::stop(request_timer_);
  release_upstream(false);  // a response still in progress: the client is gone
  response_.phase = Phase::none;
  breaker_.cancel();
  request_permit_.reset();
  // One clock read for the duration histogram and the access log. Answered requests only
  // count in the histogram: one cut off before any response has no duration to speak of.
  const bool answered = record_.status != 0;
  access_log::RecordRing* ring = client_.host->access_log();
  if (!answered && ring == nullptr) return;
  const int64_t end_ns = clock::monotonic_ns();
  if (answered)
    if (metrics::RouteStats* stats = route_stats())
      stats->per_worker.at(client_.host->worker_index())
          .duration.observe_ns(end_ns - record_.start_ns);
  if (ring == nullptr) return;
  RecordText text;
  text.client = client_.address;
  text.listener = client_.listener->config.name;
  if (request_.route != nullptr) text.route = request_.route->config->name;
  // The route's cluster, as the metrics label it, also for answers sluice made before the
  // request reached it (429, 413, 503 circuit-open): one name for one request everywhere.
  if (request_.cluster != nullptr) {
    text.cluster = request_.cluster->name();
  } else if (const metrics::RouteStats* stats = route_stats()) {
    text.cluster = stats->cluster;
  }
  if (request_.cluster != nullptr && attempt_.dispatched())
    text.endpoint = request_.cluster->endpoints[attempt_.endpoint()].address.text;
  if (request_.head != nullptr) {
    text.method = request_.head->method;
    text.path = request_.head->target;
    text.host = request_.head->host;
    if (const http::Header* agent = request_.head->find("user-agent"))
      text.user_agent = agent->value;
    record_.http_version = request_.head->version;
  }
  text.request_id = request_.id;
  push_record(*ring, access_log::Kind::http, record_, text, bytes_received, bytes_sent, end_ns);
}

metrics::ClusterCounters& Exchange::cluster_counters() const {
  return request_.cluster->stats->per_worker.at(client_.host->worker_index());
}

}  // namespace sluice::proxy
