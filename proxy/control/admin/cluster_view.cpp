#include "proxy/control/admin/cluster_view.hpp"

#include "config/to_json.hpp"

namespace sluice::proxy::admin {
namespace {

LimitView read_limit(const limiter::ConcurrencyLimit& limit) {
  return {limit.in_use(), limit.max(), limit.rejected()};
}

}  // namespace

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

ClusterView read_cluster(const ClusterRuntime& c, int64_t now_ns) {
  ClusterView view;
  view.name = c.config->name;
  view.balancer = config::balancer_type_name(c.config->balancer.type);
  if (c.breaker) view.breaker = c.breaker->stats();
  if (c.limits)
    view.limits = ClusterLimitsView{read_limit(c.limits->connections),
                                    read_limit(c.limits->pending), read_limit(c.limits->requests)};
  const limiter::OutlierDetector* outliers = c.outliers.get();
  if (outliers)
    view.outliers = OutliersView{outliers->ejected_count(now_ns), outliers->ejections(),
                                 outliers->skipped_by_cap()};
  view.endpoints.reserve(c.endpoints.size());
  for (uint32_t i = 0; i < c.endpoints.size(); ++i) {
    EndpointView& e = view.endpoints.emplace_back();
    e.address = c.endpoints[i].address.text;
    e.weight = c.endpoints[i].weight;
    // The detector is built for this endpoint list (StateStore::outliers); the size check only
    // guards against a future change breaking that.
    e.ejected = outliers != nullptr && i < outliers->size() && outliers->is_ejected(i, now_ns);
    e.unhealthy = c.endpoints.unhealthy().contains(i);
    const EndpointState& state = c.endpoints.state(i);
    e.backing_off = state.backing_off(now_ns);
    e.connect_failures = state.connect_failures.load(std::memory_order_relaxed);
    if (e.connect_failures > 0)
      e.connect_error = state.last_connect_error.load(std::memory_order_relaxed);
    // Load counters exist for every endpoint but only move when the balancer reads them.
    if (c.tracks_load) e.in_flight = c.endpoints.load(i)->in_flight.load(std::memory_order_relaxed);
  }
  return view;
}

}  // namespace sluice::proxy::admin
