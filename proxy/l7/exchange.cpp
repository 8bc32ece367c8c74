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
  abandon_queued();
  stop_request_timer();
  release_upstream(false);
  // Empty unless a retry was backing off (end() releases it too): the host may be gone by now.
  if (!held_.empty()) held_.release_all(client_.host->loop().buffers());
}

void Exchange::begin(SessionHost& host, const HttpListener& listener, std::string_view client_ip,
                     std::string_view client_address, const ClientFacts* facts) {
  client_ = Client{&host, &listener, client_ip, client_address, client_ip, facts, nullptr, {}};
  rules_.response = {};
  release_upstream(false);  // none is held between exchanges; this makes sure
  attempt_.clear();
  request_.head = nullptr;
  request_.route = nullptr;
  request_.cluster = nullptr;
  request_.method.clear();  // keeps the capacity
  request_.id.clear();
  request_.sticky.reset();
  request_.client_budget_ms = -1;
  response_.phase = Phase::none;
  response_headers_.clear();
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
  if (!request_.route->limits.empty() && !admit_limits()) return;
  go_on();
}

void Exchange::go_on() {
  const config::Route& route = *request_.route->config;
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
    direct.extra_headers = response_headers_;
    sink_->on_local_response(direct);
    return;
  }
  if (!read_client_deadline()) return;
  if (!admit_to_cluster(*request_.route->cluster)) return;
  go_upstream();
}

bool Exchange::admit_limits() {
  const unsigned worker = client_.host->worker_index();
  const int64_t now = clock::monotonic_ns();
  // The listener's limits count every routed request on it, then the route's its own (all in
  // route->limits, in that order).
  const LimitAdmission::Verdict verdict = limits_.decide(
      request_.route->limits, *request_.head, client_.ip, request_.route->limit_key, worker, now);
  switch (verdict.outcome) {
    case LimitAdmission::Outcome::admitted:
      record_.limit = access_log::LimitOutcome::admitted;
      limits_.append_admitted_headers(response_headers_);
      return true;
    case LimitAdmission::Outcome::queued:
      record_.limit = access_log::LimitOutcome::queued;
      record_.limit_name = verdict.by->config->name;
      record_.limit_delay_ns = verdict.decision.delay;
      client_.host->loop().alarms().set(limit_alarm_, now + verdict.decision.delay);
      return false;
    case LimitAdmission::Outcome::refused:
      break;
  }
  record_.limit = access_log::LimitOutcome::limited;
  record_.limit_name = verdict.by->config->name;
  const std::string headers = LimitAdmission::refusal_headers(verdict);
  LocalResponse limited = LocalResponse::error(429, "rate-limited", true);
  limited.extra_headers = headers;
  respond(limited);
  return false;
}

void Exchange::on_alarm() {
  limits_.release(client_.host->worker_index(), clock::monotonic_ns());
  limits_.append_admitted_headers(response_headers_);
  go_on();
  // The connection flushes after each batch of client input; nothing came in for this one.
  flush();
  // Body bytes waited in the connection's queue meanwhile: they may be fed now.
  if (!flags_.request_done && !limits_.waiting()) sink_->on_request_drained();
}

void Exchange::abandon_queued() {
  if (!limits_.waiting()) return;
  client_.host->loop().alarms().cancel(limit_alarm_);
  limits_.abandon(client_.host->worker_index(), clock::monotonic_ns());
  if (record_.error.empty()) record_.error = "abandoned-in-queue";
}

void Exchange::dispatch() {
  response_.phase = Phase::head;
  response_.parser.reset(request_.method);
  if (!connect_upstream()) return;
  std::string out;
  http::ForwardContext ctx;
  ctx.client_ip = client_.peer_ip;  // the hop X-Forwarded-For adds is the one sluice saw
  if (client_.facts != nullptr && client_.facts->tls) {
    ctx.proto = "https";
    const auto& tls = client_.listener->config.tls;
    if (tls && tls->client_certificates) {
      ctx.client_subject_header = tls->client_certificates->subject_header;
      ctx.client_subject = client_.facts->client_subject;
    }
  }
  ctx.request_id = request_.id;
  ctx.upgrade = request_.head->upgrade;
  const std::string deadline = deadline_header();
  ctx.drop = request_.route->config->deadline.header;
  ctx.extra_headers = deadline;
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
  abandon_queued();  // answered before its slot came (a bad body, a cut): it never leaves
  LOG_DEBUG("listener %s: %d %.*s", client_.listener->config.name.c_str(), response.status,
            static_cast<int>(response.code.size()), response.code.data());
  release_upstream(false);
  cancel_backoff();
  budget_.end();
  response_.phase = Phase::none;
  // Answered: the request timeout (the endpoint's time to answer) is over; a
  // body still arriving to be skipped is the idle timeout's business.
  stop_request_timer();
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
  if (UpstreamConnection* c = upstream()) {
    c->out().push_slice(client_.host->loop().buffers(), buffer, offset, length);
  } else if (flags_.resend_held) {
    held_.push_slice(client_.host->loop().buffers(), buffer, offset, length);
  }
  return true;
}

size_t Exchange::request_backlog() const {
  UpstreamConnection* c = upstream();
  return c != nullptr ? c->out().queued_bytes() : held_.queued_bytes();
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
  abandon_queued();
  stop_request_timer();
  cancel_backoff();
  budget_.end();
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
  if (client_.facts != nullptr && client_.facts->tls) {
    text.tls_sni = client_.facts->sni;
    text.tls_version = client_.facts->tls_version;
    text.tls_cipher = client_.facts->tls_cipher;
  }
  push_record(*ring, access_log::Kind::http, record_, text, bytes_received, bytes_sent, end_ns);
}

metrics::ClusterCounters& Exchange::cluster_counters() const {
  return request_.cluster->stats->per_worker.at(client_.host->worker_index());
}

}  // namespace sluice::proxy
