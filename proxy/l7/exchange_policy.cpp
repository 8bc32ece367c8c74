// The traffic policy of an Exchange (config/traffic_policy.hpp): admission to a cluster with its
// sticky cookie and retry budget, the timers and deadline header of the way upstream, retries'
// budget and back-off, and the route's fallback when the cluster cannot answer.
#include <charconv>
#include <random>

#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"
#include "proxy/l7/exchange.hpp"
#include "proxy/l7/request_id.hpp"
#include "proxy/l7/request_key.hpp"

namespace sluice::proxy {
namespace {

static_assert(metrics::kFallbackReasons == config::kFallbackReasons);

constexpr int64_t kNsPerMs = 1'000'000;

// The endpoint a request's sticky cookie names in this snapshot of `cluster`, if any.
std::optional<uint32_t> sticky_endpoint(const StickyTable& sticky, const http::Head& head) {
  for (const http::Header& h : head.headers) {
    if (!http::iequals(h.name, "cookie")) continue;
    const std::string_view value = cookie_value(h.value, sticky.cookie_name());
    if (!value.empty()) return sticky.find(value);
  }
  return std::nullopt;
}

// Jitter for back-offs: per worker thread, no lock; quality hardly matters.
uint64_t jitter() {
  thread_local std::minstd_rand random(static_cast<uint32_t>(clock::monotonic_ns()));
  return random();
}

}  // namespace

bool Exchange::admit_to_cluster(const ClusterRuntime& cluster) {
  request_.cluster = &cluster;
  const config::Route& route = *request_.route->config;
  // Cluster-level admission: in-flight cap, then the circuit breaker.
  request_permit_.reset();
  if (cluster.limits) {
    request_permit_ = limiter::ConcurrencyPermit::try_acquire(cluster.limits->requests);
    if (!request_permit_) {
      cluster_counters().refused_by(metrics::ClusterCap::max_requests);
      give_up(config::FallbackReason::cluster_limit,
              LocalResponse::error(503, "cluster-max-requests", true));
      return false;
    }
  }
  if (!breaker_.begin(cluster, clock::monotonic_ns())) {
    request_permit_.reset();
    record_.breaker = access_log::BreakerOutcome::rejected;
    give_up(config::FallbackReason::circuit_open, LocalResponse::error(503, "circuit-open", true));
    return false;
  }
  if (cluster.breaker) record_.breaker = access_log::BreakerOutcome::allowed;
  const uint64_t key =
      cluster.needs_key ? request_key(cluster.config->balancer.key, *request_.head, client_.ip) : 0;
  attempt_.begin(cluster, key, 1 + route.retries.attempts);
  request_.sticky.reset();
  if (cluster.sticky) {
    request_.sticky = sticky_endpoint(*cluster.sticky, *request_.head);
    if (request_.sticky) attempt_.prefer(*request_.sticky);
  }
  budget_.begin(cluster.retry_budget.get());
  return true;
}

void Exchange::go_upstream() {
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
  start_request_timer();
  dispatch();
}

void Exchange::give_up(config::FallbackReason reason, const LocalResponse& error) {
  const RouteRuntime& route = *request_.route;
  const std::optional<config::Fallback>& fallback = route.config->fallback;
  if (!fallback || !fallback->covers(reason) || flags_.fell_back) {
    respond(error);
    return;
  }
  // Another cluster gets the request only if it can be sent whole: nothing of a body went
  // anywhere yet. Otherwise the failure stands.
  if (route.fallback_cluster != nullptr && attempt_.dispatched() && request_.head->has_body()) {
    respond(error);
    return;
  }
  flags_.fell_back = true;
  const auto index = static_cast<size_t>(reason);
  record_.fallback = config::kFallbackReasonNames[index];
  route.stats->per_worker.at(client_.host->worker_index()).fallbacks[index].add();
  LOG_DEBUG("route %s: fallback (%s)", route.config->name.c_str(),
            config::kFallbackReasonNames[index]);
  if (fallback->response) {
    LocalResponse r;
    r.status = fallback->response->status;
    r.code = error.code;  // the access log's `error` still says what failed
    r.body = fallback->response->body;
    r.extra_headers = route.fallback_headers;
    r.keep_alive = error.keep_alive;
    r.direct = true;
    respond(r);
    return;
  }
  release_upstream(false);
  cancel_backoff();
  stop_request_timer();
  if (!admit_to_cluster(*route.fallback_cluster)) return;  // it answered with `error`'s kin
  go_upstream();
  flush();
}

bool Exchange::retry_allowed() {
  if (budget_.try_retry()) return true;
  cluster_counters().retries_over_budget.add();
  LOG_DEBUG("cluster %s: retry refused by the retry budget", request_.cluster->name().c_str());
  return false;
}

bool Exchange::start_backoff() {
  const config::RetryBackoff& b = request_.route->config->retries.backoff;
  if (b.base.count() == 0) return false;
  // Retry number n follows n tried endpoints.
  const int64_t delay =
      limiter::backoff_delay_ns(b.base.count() * kNsPerMs, b.max.count() * kNsPerMs,
                                static_cast<int>(attempt_.tried()), jitter());
  flags_.backing_off = true;
  backoff_timer_.start(client_.host->loop().ring(), delay);
  return true;
}

void Exchange::cancel_backoff() {
  if (!flags_.backing_off) return;
  flags_.backing_off = false;
  flags_.resend_held = false;
  backoff_timer_.stop();
  held_.release_all(client_.host->loop().buffers());
}

void Exchange::on_ring_timer(int kind) {
  if (kind == kDeadline) {
    on_timer(0);
    return;
  }
  if (!flags_.active || !flags_.backing_off) return;
  flags_.backing_off = false;
  if (flags_.resend_held) {
    flags_.resend_held = false;
    ChunkQueue unsent;
    unsent.swap(held_);
    if (connect_upstream()) upstream()->out().swap(unsent);
    unsent.release_all(client_.host->loop().buffers());
  } else {
    dispatch();
  }
  flush();
}

bool Exchange::read_client_deadline() {
  const config::Deadline& d = request_.route->config->deadline;
  if (!d.trust_incoming) return true;
  const http::Header* h = request_.head->find(d.header);
  if (h == nullptr) return true;
  int64_t ms = 0;
  const char* end = h->value.data() + h->value.size();
  const auto [ptr, ec] = std::from_chars(h->value.data(), end, ms);
  // Not a plain count of milliseconds: ignored, as if the caller had sent none.
  if (ec != std::errc{} || ptr != end || ms < 0) return true;
  if (ms == 0) {
    respond(LocalResponse::error(504, "deadline-exceeded", true));
    return false;
  }
  request_.client_budget_ms = ms;
  return true;
}

void Exchange::start_request_timer() {
  const int64_t route_ms = request_.route->config->timeouts.request.count();
  const int64_t now = clock::monotonic_ns();
  stop_request_timer();
  // The loop's timer lists tick and hold one list per timeout value, so a client's own
  // (any value, to the millisecond) gets a ring timer of its own.
  if (request_.client_budget_ms >= 0 && request_.client_budget_ms < route_ms) {
    request_.deadline_ns = now + request_.client_budget_ms * kNsPerMs;
    deadline_timer_.start(client_.host->loop().ring(), request_.client_budget_ms * kNsPerMs);
    return;
  }
  request_.deadline_ns = now + route_ms * kNsPerMs;
  client_.host->loop()
      .timers(static_cast<uint64_t>(route_ms))
      .start(request_timer_, client_.host->loop().now_ms());
}

void Exchange::stop_request_timer() {
  TimerList::stop(request_timer_);
  deadline_timer_.stop();
}

std::string Exchange::deadline_header() const {
  const config::Deadline& d = request_.route->config->deadline;
  if (d.header.empty() || !d.propagate) return {};
  const int64_t left = (request_.deadline_ns - clock::monotonic_ns()) / kNsPerMs;
  return d.header + ": " + std::to_string(left > 0 ? left : 0) + "\r\n";
}

std::string_view Exchange::sticky_cookie() const {
  const ClusterRuntime& cluster = *request_.cluster;
  // Set when the request had none, or its endpoint could not take it (then it moves).
  if (!cluster.sticky || request_.sticky == attempt_.endpoint()) return {};
  return cluster.sticky->set_cookie(attempt_.endpoint());
}

}  // namespace sluice::proxy
