#include "proxy/control/admin/clusters_json.hpp"

#include <boost/json.hpp>

#include "proxy/control/admin/cluster_view.hpp"

namespace sluice::proxy::admin {
namespace {

namespace json = boost::json;

json::value breaker_json(const std::optional<limiter::CircuitBreakerStats>& breaker) {
  if (!breaker) return nullptr;
  const limiter::CircuitBreakerStats& s = *breaker;
  return json::object{{"state", breaker_state_name(s.state)},
                      {"opened_by_consecutive", s.opened_by_consecutive},
                      {"opened_by_ratio", s.opened_by_ratio},
                      {"half_opened", s.half_opened},
                      {"closed", s.closed},
                      {"reopened", s.reopened},
                      {"rejected", s.rejected}};
}

json::object limit_json(const LimitView& limit) {
  json::value max = nullptr;  // unlimited, still counted
  if (limit.max != 0) max = limit.max;
  return {{"in_use", limit.in_use}, {"max", std::move(max)}, {"rejected", limit.rejected}};
}

json::value limits_json(const std::optional<ClusterLimitsView>& limits) {
  if (!limits) return nullptr;
  return json::object{{"connections", limit_json(limits->connections)},
                      {"pending", limit_json(limits->pending)},
                      {"requests", limit_json(limits->requests)}};
}

json::value outliers_json(const std::optional<OutliersView>& outliers) {
  if (!outliers) return nullptr;
  return json::object{{"ejected", outliers->ejected},
                      {"ejections", outliers->ejections},
                      {"skipped_by_cap", outliers->skipped_by_cap}};
}

json::object cluster_json(const ClusterView& c, json::value discovery,
                          const std::vector<json::value>& health) {
  json::array endpoints;
  for (size_t i = 0; i < c.endpoints.size(); ++i) {
    const EndpointView& e = c.endpoints[i];
    json::value in_flight = nullptr;
    if (e.in_flight) in_flight = *e.in_flight;
    endpoints.push_back(json::object{{"address", e.address},
                                     {"weight", e.weight},
                                     {"healthy", e.healthy()},
                                     {"ejected", e.ejected},
                                     {"backing_off", e.backing_off},
                                     {"in_flight", std::move(in_flight)},
                                     {"health", i < health.size() ? health[i] : nullptr}});
  }
  return {{"name", c.name},
          {"balancer", c.balancer},
          {"breaker", breaker_json(c.breaker)},
          {"limits", limits_json(c.limits)},
          {"outlier_detection", outliers_json(c.outliers)},
          {"discovery", std::move(discovery)},
          {"endpoints", std::move(endpoints)}};
}

}  // namespace

std::string clusters_json(const Snapshot& snapshot, int64_t now_ns, const DiscoveryJson& discovery,
                          const EndpointJson& endpoint) {
  json::array clusters;
  for (const auto& c : snapshot.clusters) {
    std::vector<json::value> health;
    if (endpoint)
      for (const UpstreamEndpoint& e : c.endpoints.all())
        health.push_back(endpoint(c.name(), e.address));
    clusters.push_back(cluster_json(
        read_cluster(c, now_ns), discovery ? discovery(c.name()) : json::value(nullptr), health));
  }
  return json::serialize(json::object{{"clusters", std::move(clusters)}});
}

}  // namespace sluice::proxy::admin
