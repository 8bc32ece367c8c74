#include "proxy/control/admin/clusters_json.hpp"

#include <boost/json.hpp>

#include "config/to_json.hpp"

namespace sluice::proxy::admin {
namespace {

namespace json = boost::json;

const char* breaker_state_name(limiter::BreakerState state) {
  switch (state) {
    case limiter::BreakerState::closed:
      return "closed";
    case limiter::BreakerState::open:
      return "open";
    case limiter::BreakerState::half_open:
      return "half_open";
  }
  return "closed";
}

json::value breaker_json(const limiter::CircuitBreaker* breaker) {
  if (breaker == nullptr) return nullptr;
  const limiter::CircuitBreakerStats s = breaker->stats();
  return json::object{{"state", breaker_state_name(s.state)},
                      {"opened_by_consecutive", s.opened_by_consecutive},
                      {"opened_by_ratio", s.opened_by_ratio},
                      {"half_opened", s.half_opened},
                      {"closed", s.closed},
                      {"reopened", s.reopened},
                      {"rejected", s.rejected}};
}

json::object limit_json(const limiter::ConcurrencyLimit& limit) {
  json::value max = nullptr;  // unlimited, still counted
  if (limit.max() != 0) max = limit.max();
  return {{"in_use", limit.in_use()}, {"max", std::move(max)}, {"rejected", limit.rejected()}};
}

json::value limits_json(const limiter::ClusterLimits* limits) {
  if (limits == nullptr) return nullptr;
  return json::object{{"connections", limit_json(limits->connections)},
                      {"pending", limit_json(limits->pending)},
                      {"requests", limit_json(limits->requests)}};
}

json::value outliers_json(const limiter::OutlierDetector* outliers, int64_t now_ns) {
  if (outliers == nullptr) return nullptr;
  return json::object{{"ejected", outliers->ejected_count(now_ns)},
                      {"ejections", outliers->ejections()},
                      {"skipped_by_cap", outliers->skipped_by_cap()}};
}

json::object cluster_json(const ClusterRuntime& c, int64_t now_ns) {
  const config::Cluster& cfg = *c.config;
  const limiter::OutlierDetector* outliers = c.outliers.get();
  json::array endpoints;
  for (uint32_t i = 0; i < c.endpoints.size(); ++i) {
    // The detector is built for this endpoint list (StateStore::outliers); the size check only
    // guards against a future change breaking that.
    const bool ejected =
        outliers != nullptr && i < outliers->size() && outliers->is_ejected(i, now_ns);
    // Load counters exist for every endpoint but only move when the balancer reads them.
    json::value in_flight = nullptr;
    if (c.tracks_load) in_flight = c.endpoints.load(i)->in_flight.load(std::memory_order_relaxed);
    endpoints.push_back(
        json::object{{"address", c.endpoints[i].address.text},
                     {"weight", c.endpoints[i].weight},
                     // There are no active health checks yet, so passive ejection is the only way
                     // an endpoint stops being healthy. Revisit when health_check lands.
                     {"healthy", !ejected},
                     {"ejected", ejected},
                     {"in_flight", std::move(in_flight)}});
  }
  return {{"name", cfg.name},
          {"balancer", config::balancer_type_name(cfg.balancer.type)},
          {"breaker", breaker_json(c.breaker.get())},
          {"limits", limits_json(c.limits.get())},
          {"outlier_detection", outliers_json(outliers, now_ns)},
          {"endpoints", std::move(endpoints)}};
}

}  // namespace

std::string clusters_json(const Snapshot& snapshot, int64_t now_ns) {
  json::array clusters;
  for (const auto& c : snapshot.clusters) clusters.push_back(cluster_json(c, now_ns));
  return json::serialize(json::object{{"clusters", std::move(clusters)}});
}

}  // namespace sluice::proxy::admin
