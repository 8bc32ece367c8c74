#include "proxy/metrics/exposition.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <numeric>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "proxy/metrics/families.hpp"

namespace sluice::proxy::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Sum of one counter or gauge over every worker's slot.
template <class Slot, class Field>
auto sum(const PerWorker<Slot>& slots, Field field) {
  decltype(field(slots.at(0)).value()) total = 0;
  for (unsigned w = 0; w < slots.size(); ++w) total += field(slots.at(w)).value();
  return total;
}

// The same, for a column given as a function of one slot.
template <class Slot>
double sum_column(const PerWorker<Slot>& slots, double (*value)(const Slot&)) {
  double total = 0;
  for (unsigned w = 0; w < slots.size(); ++w) total += value(slots.at(w));
  return total;
}

void add_listeners(Families& out, const std::vector<std::shared_ptr<const ListenerStats>>& all) {
  auto& info =
      out.add("sluice_listener_info", "Always 1; the protocol label says what the listener speaks.",
              MetricType::Gauge);
  for (const auto& l : all) sample(info, {{"listener", l->name}, {"protocol", l->protocol}}, 1);

  struct Column {
    const char* name;
    const char* help;
    MetricType type;
    double (*value)(const ListenerCounters&);
  };
  static constexpr Column kColumns[] = {
      {"sluice_downstream_connections_total", "Client connections accepted (count).",
       MetricType::Counter,
       [](const ListenerCounters& c) { return double(c.connections.value()); }},
      {"sluice_downstream_connections_active", "Client connections open now (count).",
       MetricType::Gauge, [](const ListenerCounters& c) { return double(c.active.value()); }},
      {"sluice_downstream_bytes_received_total", "Bytes received from clients (bytes).",
       MetricType::Counter,
       [](const ListenerCounters& c) { return double(c.bytes_received.value()); }},
      {"sluice_downstream_bytes_sent_total", "Bytes sent to clients (bytes).", MetricType::Counter,
       [](const ListenerCounters& c) { return double(c.bytes_sent.value()); }},
      {"sluice_downstream_timeouts_total",
       "Requests answered 408 because the client was too slow to send its head or body; never "
       "counted against an endpoint (count).",
       MetricType::Counter, [](const ListenerCounters& c) { return double(c.timeouts.value()); }},
      {"sluice_downstream_incomplete_responses_total",
       "Responses sluice could not deliver whole (the endpoint broke off or failed mid-body); the "
       "client connection was reset so that no client takes them for complete (count).",
       MetricType::Counter, [](const ListenerCounters& c) { return double(c.incomplete.value()); }},
      {"sluice_downstream_connections_refused_total",
       "Connections closed at accept because file descriptors ran short: the remaining ones are "
       "kept for upstream connections of clients already served (count).",
       MetricType::Counter, [](const ListenerCounters& c) { return double(c.refused.value()); }},
      {"sluice_downstream_connections_over_limit_total",
       "Client connections closed as soon as they were accepted because the listener's or the "
       "global max_connections was reached (count).",
       MetricType::Counter,
       [](const ListenerCounters& c) { return double(c.over_limit.value()); }}};
  for (const auto& col : kColumns) {
    auto& family = out.add(col.name, col.help, col.type);
    for (const auto& l : all)
      sample(family, {{"listener", l->name}}, sum_column(l->per_worker, col.value));
  }

  auto& proxy = out.add("sluice_downstream_proxy_protocol_refused_total",
                        "Connections to a listener with proxy_protocol closed before a session "
                        "began: from a source outside `trusted`, no whole header within its "
                        "timeout, or a malformed header (v2 checksum included), by reason "
                        "(count).",
                        MetricType::Counter);
  for (const auto& l : all)
    for (size_t k = 0; k < kProxyRefusals; ++k)
      sample(proxy, {{"listener", l->name}, {"reason", kProxyRefusalNames[k]}},
             double(sum(
                 l->per_worker, [k](auto& s) -> auto& { return s.proxy_refusals[k]; })));

  auto& denied = out.add("sluice_http_access_denied_total",
                         "Requests answered 403 by access control (allow/deny by client "
                         "address), by where the rule was: the listener's or the route's "
                         "(count).",
                         MetricType::Counter);
  for (const auto& l : all)
    for (size_t k = 0; k < kAccessScopes; ++k)
      sample(denied, {{"listener", l->name}, {"scope", kAccessScopeNames[k]}},
             double(sum(
                 l->per_worker, [k](auto& s) -> auto& { return s.access_denied[k]; })));
}

void add_cluster_counters(Families& out,
                          const std::vector<std::shared_ptr<const ClusterStats>>& all) {
  struct Column {
    const char* name;
    const char* help;
    MetricType type;
    double (*value)(const ClusterCounters&);
  };
  static constexpr Column kColumns[] = {
      {"sluice_upstream_requests_total",
       "Requests sent to endpoints (HTTP), or connections relayed (TCP) (count).",
       MetricType::Counter, [](const ClusterCounters& c) { return double(c.requests.value()); }},
      {"sluice_upstream_connect_failures_total",
       "Connects to endpoints that failed or timed out (count).", MetricType::Counter,
       [](const ClusterCounters& c) { return double(c.connect_failures.value()); }},
      {"sluice_upstream_retries_total", "Further attempts after a failed one (count).",
       MetricType::Counter, [](const ClusterCounters& c) { return double(c.retries.value()); }},
      {"sluice_upstream_retries_over_budget_total",
       "Retries the cluster's retry_budget refused: the failure stood (count).",
       MetricType::Counter,
       [](const ClusterCounters& c) { return double(c.retries_over_budget.value()); }},
      {"sluice_upstream_timeouts_total", "Requests that hit their request timeout (count).",
       MetricType::Counter, [](const ClusterCounters& c) { return double(c.timeouts.value()); }},
      {"sluice_upstream_connections_active",
       "Connections to endpoints open now, pooled idle ones included (count).", MetricType::Gauge,
       [](const ClusterCounters& c) { return double(c.connections_active.value()); }},
      {"sluice_upstream_bytes_sent_total", "Bytes sent to endpoints (bytes).", MetricType::Counter,
       [](const ClusterCounters& c) { return double(c.bytes_sent.value()); }},
      {"sluice_upstream_bytes_received_total", "Bytes received from endpoints (bytes).",
       MetricType::Counter,
       [](const ClusterCounters& c) { return double(c.bytes_received.value()); }}};
  for (const auto& col : kColumns) {
    auto& family = out.add(col.name, col.help, col.type);
    for (const auto& cl : all)
      sample(family, {{"cluster", cl->name}}, sum_column(cl->per_worker, col.value));
  }

  auto& refusals = out.add("sluice_upstream_cap_refusals_total",
                           "Requests (HTTP) or connections (TCP) refused with 503 because a "
                           "cluster cap of `limits:` was reached, by cap (count).",
                           MetricType::Counter);
  for (const auto& cl : all)
    for (size_t k = 0; k < kClusterCaps; ++k)
      sample(refusals, {{"cluster", cl->name}, {"cap", kClusterCapNames[k]}},
             double(sum(
                 cl->per_worker, [k](auto& s) -> auto& { return s.cap_refusals[k]; })));

  auto& responses = out.add("sluice_upstream_responses_total",
                            "HTTP responses received from endpoints, by status class (count).",
                            MetricType::Counter);
  for (const auto& cl : all) {
    for (size_t c = 0; c < kCodeClasses; ++c) {
      auto n = sum(
          cl->per_worker, [c](auto& s) -> auto& { return s.responses[c]; });
      sample(responses, {{"cluster", cl->name}, {"code_class", kCodeClassNames[c]}}, double(n));
    }
  }
}

void add_cluster_durations(Families& out,
                           const std::vector<std::shared_ptr<const ClusterStats>>& all) {
  auto& family = out.add("sluice_upstream_request_duration_seconds",
                         "Time from dispatch to response head (HTTP), or to connected (TCP), "
                         "in seconds.",
                         MetricType::Histogram);
  for (const auto& cl : all)
    family.metric.push_back(
        histogram_of(cl->per_worker, [](const ClusterCounters& c) -> auto& { return c.duration; },
                     {{"cluster", cl->name}}));
}

// Shaping (leaky_bucket) limits: requests held for their slot. Zero for the other algorithms.
void add_rate_limit_queues(Families& out,
                           const std::vector<std::shared_ptr<const RateLimitStats>>& all) {
  struct Column {
    const char* name;
    const char* help;
    MetricType type;
    double (*value)(const RateLimitCounters&);
  };
  static constexpr Column kColumns[] = {
      {"sluice_rate_limit_queued_total",
       "Requests a leaky_bucket limit admitted to wait for their slot (count).",
       MetricType::Counter, [](const RateLimitCounters& c) { return double(c.queued.value()); }},
      {"sluice_rate_limit_queue_depth", "Requests waiting in a limit's queue now (count).",
       MetricType::Gauge, [](const RateLimitCounters& c) { return double(c.waiting.value()); }},
      {"sluice_rate_limit_queue_abandoned_total",
       "Queued requests whose client went away before their slot came; the slot was freed "
       "(count).",
       MetricType::Counter,
       [](const RateLimitCounters& c) { return double(c.abandoned.value()); }}};
  for (const auto& col : kColumns) {
    auto& family = out.add(col.name, col.help, col.type);
    for (const auto& r : all)
      sample(family, {{"policy", r->name}}, sum_column(r->per_worker, col.value));
  }
  auto& delay = out.add("sluice_rate_limit_queue_delay_seconds",
                        "How long queued requests waited before they left, in seconds.",
                        MetricType::Histogram);
  for (const auto& r : all)
    delay.metric.push_back(histogram_of(r->per_worker,
                                        [](const RateLimitCounters& c) -> auto& { return c.delay; },
                                        {{"policy", r->name}}));
}

void add_rate_limits(Families& out, const std::vector<std::shared_ptr<const RateLimitStats>>& all) {
  auto& family =
      out.add("sluice_rate_limit_decisions_total",
              "Rate-limit decisions, by policy and outcome (count).", MetricType::Counter);
  for (const auto& r : all) {
    auto admitted = sum(
        r->per_worker, [](auto& c) -> auto& { return c.admitted; });
    auto limited = sum(
        r->per_worker, [](auto& c) -> auto& { return c.limited; });
    sample(family, {{"policy", r->name}, {"outcome", "admitted"}}, double(admitted));
    sample(family, {{"policy", r->name}, {"outcome", "limited"}}, double(limited));
  }
  auto& on_error = out.add(
      "sluice_rate_limit_on_error_decisions_total",
      "Decisions of sluice_rate_limit_decisions_total that a global limit's on_error made because "
      "Redis could not be asked (down, or not answered yet): outcome admitted is failing open "
      "(on_error: allow, no global count), limited failing closed (deny) (count).",
      MetricType::Counter);
  for (const auto& r : all) {
    sample(on_error, {{"policy", r->name}, {"outcome", "admitted"}},
           double(sum(
               r->per_worker, [](auto& c) -> auto& { return c.on_error_admitted; })));
    sample(on_error, {{"policy", r->name}, {"outcome", "limited"}},
           double(sum(
               r->per_worker, [](auto& c) -> auto& { return c.on_error_limited; })));
  }
  auto& keys = out.add("sluice_rate_limit_global_keys",
                       "Keys a global (scope: global) limit tracks on this instance, bounded by "
                       "its max_keys (count).",
                       MetricType::Gauge);
  for (const auto& r : all)
    if (const int64_t n = r->global_keys.load(std::memory_order_relaxed); n >= 0)
      sample(keys, {{"policy", r->name}}, double(n));
  add_rate_limit_queues(out, all);
}

// Clusters by first occurrence of their name: a duplicate would be a duplicate series.
std::vector<const ClusterStatus*> unique_clusters(std::span<const ClusterStatus> clusters) {
  std::unordered_set<std::string_view> seen;
  std::vector<const ClusterStatus*> out;
  for (const auto& c : clusters) {
    if (seen.insert(c.name).second) out.push_back(&c);
  }
  return out;
}

void add_breakers(Families& out, const std::vector<const ClusterStatus*>& clusters) {
  auto& state = out.add("sluice_circuit_breaker_state",
                        "Circuit breaker state: 0 closed, 1 open, 2 half-open.", MetricType::Gauge);
  auto& transitions =
      out.add("sluice_circuit_breaker_transitions_total",
              "Circuit breaker state changes, by the state entered (count).", MetricType::Counter);
  auto& rejected =
      out.add("sluice_circuit_breaker_rejected_total",
              "Requests the circuit breaker turned away (count).", MetricType::Counter);
  for (const auto* c : clusters) {
    if (!c->breaker) continue;
    const auto& b = *c->breaker;
    double code = b.state == limiter::BreakerState::open        ? 1
                  : b.state == limiter::BreakerState::half_open ? 2
                                                                : 0;
    sample(state, {{"cluster", c->name}}, code);
    double opened = double(b.opened_by_consecutive + b.opened_by_ratio + b.reopened);
    sample(transitions, {{"cluster", c->name}, {"to", "open"}}, opened);
    sample(transitions, {{"cluster", c->name}, {"to", "half_open"}}, double(b.half_opened));
    sample(transitions, {{"cluster", c->name}, {"to", "closed"}}, double(b.closed));
    sample(rejected, {{"cluster", c->name}}, double(b.rejected));
  }
  auto& ejections = out.add("sluice_outlier_ejections_total",
                            "Endpoints ejected by outlier detection (count).", MetricType::Counter);
  for (const auto* c : clusters) {
    if (c->outlier_ejections)
      sample(ejections, {{"cluster", c->name}}, double(*c->outlier_ejections));
  }
}

// How many endpoints of each cluster to export: equal shares of the cap, with what small
// clusters do not use going to the bigger ones (so one huge cluster cannot hide all others).
std::vector<size_t> endpoint_quotas(const std::vector<size_t>& sizes, size_t cap) {
  std::vector<size_t> order(sizes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sizes[a] < sizes[b]; });
  std::vector<size_t> quota(sizes.size());
  size_t remaining = cap;
  size_t left = sizes.size();
  for (size_t i : order) {
    quota[i] = std::min(sizes[i], remaining / left);
    remaining -= quota[i];
    --left;
  }
  return quota;
}

void add_endpoints(Families& out, const std::vector<const ClusterStatus*>& clusters, size_t cap) {
  // Endpoints by first occurrence of their address, per cluster.
  std::vector<std::vector<const EndpointStatus*>> unique(clusters.size());
  std::vector<size_t> sizes(clusters.size());
  for (size_t i = 0; i < clusters.size(); ++i) {
    std::unordered_set<std::string_view> seen;
    for (const auto& e : clusters[i]->endpoints) {
      if (seen.insert(e.address).second) unique[i].push_back(&e);
    }
    sizes[i] = unique[i].size();
  }
  auto quota = endpoint_quotas(sizes, cap);

  auto& healthy =
      out.add("sluice_endpoint_healthy",
              "1 if the endpoint may be picked, else 0: 0 while its active health check "
              "fails (or waits for its first verdict), in a fail-closed panic, or while "
              "outlier detection ejects it.",
              MetricType::Gauge);
  auto& ejected =
      out.add("sluice_endpoint_ejected", "1 if outlier detection has ejected the endpoint, else 0.",
              MetricType::Gauge);
  auto& in_flight = out.add("sluice_endpoint_requests_in_flight",
                            "Requests (or TCP connections) to the endpoint in progress (count).",
                            MetricType::Gauge);
  auto& connect_failures =
      out.add("sluice_endpoint_connect_failures_in_a_row",
              "Connects to the endpoint that failed in a row, 0 once one succeeds; while above 0 "
              "the endpoint is passed over for 1 s doubling to 10 s (count).",
              MetricType::Gauge);
  auto& weight = out.add("sluice_endpoint_weight",
                         "Configured load-balancing weight of the endpoint (dimensionless).",
                         MetricType::Gauge);
  size_t dropped = 0;
  for (size_t i = 0; i < clusters.size(); ++i) {
    dropped += sizes[i] - quota[i];
    for (size_t k = 0; k < quota[i]; ++k) {
      const auto& e = *unique[i][k];
      Labels labels{{"cluster", clusters[i]->name}, {"endpoint", e.address}};
      sample(healthy, labels, e.healthy ? 1 : 0);
      sample(ejected, labels, e.ejected ? 1 : 0);
      if (e.in_flight) sample(in_flight, labels, double(*e.in_flight));
      sample(connect_failures, labels, double(e.connect_failures));
      sample(weight, std::move(labels), double(e.weight));
    }
  }
  sample(out.add("sluice_endpoint_series_dropped",
                 "Endpoints left out of the sluice_endpoint_* series by the series cap (count).",
                 MetricType::Gauge),
         {}, double(dropped));
}

}  // namespace

std::string render(const Registry& registry, std::span<const ClusterStatus> clusters) {
  auto live = registry.live();
  auto status = unique_clusters(clusters);
  Families out;
  add_process(out, registry.process());
  add_process_usage(out, registry.process());
  add_redis(out, registry.process());
  add_listeners(out, live.listeners);
  add_tls(out, live.listeners);
  add_routes(out, live.routes);
  add_cluster_counters(out, live.clusters);
  add_upstream_tls(out, live.clusters);
  add_cluster_durations(out, live.clusters);
  add_rate_limits(out, live.rate_limits);
  add_breakers(out, status);
  add_discovery(out, status);
  add_health(out, status, registry.process());
  add_endpoints(out, status, registry.endpoint_series_cap());
  add_access_log(out, registry.process());
  return prometheus::TextSerializer().Serialize(out.take());
}

}  // namespace sluice::proxy::metrics
