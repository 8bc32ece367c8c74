// One reading of a cluster's live state: breaker, cluster limits, outlier detection and, per
// endpoint, weight, ejection, connect back-off and in-flight count. GET /clusters, the status
// page and /metrics all show this reading, so an endpoint's state is worked out in one place.
//
// Threads: the control thread, while the snapshot is alive. It reads the shared atomics the
// workers are writing (relaxed), so counts are recent, not a consistent cut across endpoints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "limiter/circuit_breaker.hpp"
#include "proxy/worker/snapshot.hpp"

namespace sluice::proxy::admin {

struct EndpointView {
  std::string address;  // as the config (or discovery) writes it
  uint32_t weight = 1;
  bool ejected = false;    // by outlier detection
  bool unhealthy = false;  // taken out by active health checks (the snapshot's overlay)
  // Passed over after a failed connect (EndpointState::connect_failed) until the back-off ends.
  bool backing_off = false;
  uint32_t connect_failures = 0;  // in a row; 0 once a connect succeeds
  int connect_error = 0;          // -errno of the last of those; 0 when none
  // None: the cluster's balancer does not count requests per endpoint.
  std::optional<int64_t> in_flight;

  bool healthy() const { return !ejected && !unhealthy; }
};

struct LimitView {
  uint32_t in_use = 0;
  uint32_t max = 0;  // 0: unlimited, still counted
  uint64_t rejected = 0;
};

struct ClusterLimitsView {
  LimitView connections, pending, requests;
};

struct OutliersView {
  size_t ejected = 0;  // now
  uint64_t ejections = 0;
  uint64_t skipped_by_cap = 0;
};

struct ClusterView {
  std::string name;
  std::string balancer;                                 // the config's name for its type
  std::optional<limiter::CircuitBreakerStats> breaker;  // none: no breaker configured
  std::optional<ClusterLimitsView> limits;              // none: no limits configured
  std::optional<OutliersView> outliers;                 // none: no outlier detection
  std::vector<EndpointView> endpoints;
};

// `now_ns` is the clock the workers stamp ejections and back-offs with (limiter::Nanos, the
// steady clock: core/clock.hpp).
ClusterView read_cluster(const ClusterRuntime& cluster, int64_t now_ns);

// "closed", "open", "half_open": the names /clusters uses.
const char* breaker_state_name(limiter::BreakerState state);

}  // namespace sluice::proxy::admin
