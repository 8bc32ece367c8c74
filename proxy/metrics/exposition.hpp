// Prometheus text exposition of the registry and of the cluster state the proxy layer reads
// at scrape time (breakers, outlier detectors, endpoint health and load).
//
// Thread safety: render() is for the control thread only (it prunes the registry). It reads
// the workers' slots with relaxed loads while they keep counting, so a value may be a few
// increments behind; it never takes a lock the workers could wait on.
//
// Output conventions:
// - Per-worker slots are summed; label sets are emitted in key order.
// - sluice_upstream_responses_total emits all five code classes for every cluster, zeros
//   included: a series that appears only with its first increment loses that increment to
//   rate(). sluice_http_requests_total cannot (its exact code and method pairs are not known
//   in advance): its series appear with their first response, as in Prometheus' own client
//   libraries, and each route holds at most RouteCounters::kPairs distinct pairs per worker.
// - Families with no series at all (no rate-limit policy configured, say) are left out,
//   except sluice_endpoint_series_dropped and the process-level ones, which are always there.
// - Endpoint series are capped by Registry::endpoint_series_cap() (counted in endpoints,
//   each exporting healthy/ejected/in-flight/weight). The cap is shared out fairly: every
//   cluster gets an equal share and what small clusters leave over goes to the big ones;
//   within a cluster the first endpoints in the given order are kept. Duplicate cluster
//   names or endpoint addresses are exported once (first wins) instead of as duplicate
//   series that Prometheus would reject.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "limiter/circuit_breaker.hpp"
#include "proxy/metrics/registry.hpp"

namespace sluice::proxy::metrics {

struct EndpointStatus {
  std::string address;  // as shown to operators, e.g. "10.0.0.7:8080"
  uint32_t weight = 1;
  bool healthy = true;
  bool ejected = false;  // by outlier detection
  // None: the cluster's balancer does not count requests per endpoint (no
  // series, rather than a misleading 0).
  std::optional<int64_t> in_flight = 0;
  uint32_t connect_failures = 0;  // connects that failed in a row; 0 once one succeeds
  int connect_error = 0;          // -errno of the last failed connect; 0: none (for logs)
};

// Filled by the proxy layer at scrape time; a plain copy so render() needs nothing of proxy/.
// A cluster's discovery source, as its metrics show it.
struct DiscoveryStatus {
  std::string source;       // "file", "dns", "etcd", "consul": the `source` label
  bool stale = false;       // the source's last answer was an error: the set is the last good one
  double last_success = 0;  // unix time; 0: never answered
  uint64_t updates = 0;     // sets applied
  uint64_t errors = 0;      // failed answers
  size_t endpoints = 0;     // in the set the cluster runs
  bool held = false;        // an update removing many endpoints waits for its confirm window
};

struct ClusterStatus {
  std::string name;
  std::optional<limiter::CircuitBreakerStats> breaker;  // none: no breaker configured
  std::optional<uint64_t> outlier_ejections;            // none: no outlier detection
  std::optional<DiscoveryStatus> discovery;             // none: endpoints from the config
  std::optional<bool> panic;                            // none: no active health check
  std::vector<EndpointStatus> endpoints;
};

std::string render(const Registry& registry, std::span<const ClusterStatus> clusters);

}  // namespace sluice::proxy::metrics
