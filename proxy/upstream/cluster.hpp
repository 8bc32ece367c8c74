// A cluster as the workers of one snapshot use it: its endpoint list, the
// balancer built over it, and the state shared across cores and kept across
// reloads (breaker, caps, outlier detector, load counters, stats). Built on the
// control thread, immutable once published; workers read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "balancers/balancer.hpp"
#include "balancers/load.hpp"
#include "config/config.hpp"
#include "limiter/circuit_breaker.hpp"
#include "limiter/concurrency_limit.hpp"
#include "limiter/outlier_detector.hpp"
#include "limiter/retry_budget.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/tls/cluster_tls.hpp"
#include "proxy/upstream/endpoint_list.hpp"
#include "proxy/upstream/sticky_table.hpp"

namespace sluice::proxy {

struct ClusterRuntime {
  const config::Cluster* config = nullptr;
  size_t index = 0;  // position in the snapshot's clusters, for per-worker state
  EndpointList endpoints;
  std::unique_ptr<balancers::Balancer> balancer;
  std::shared_ptr<balancers::LoadTotal> total;  // only when bounded-load hashing needs it
  // Resilience state, kept across reloads by the control thread's state
  // store; null when not configured.
  std::shared_ptr<limiter::CircuitBreaker> breaker;
  std::shared_ptr<limiter::ClusterLimits> limits;
  std::shared_ptr<limiter::OutlierDetector> outliers;
  std::shared_ptr<limiter::RetryBudget> retry_budget;
  // Cookie stickiness over this snapshot's endpoint list; null when not configured.
  std::shared_ptr<const StickyTable> sticky;
  // The balancer reads the load counters (least_conn, p2c, bounded load), so
  // requests must count in them; others skip the shared atomics entirely.
  bool tracks_load = false;
  bool needs_key = false;       // consistent hashing: callers must compute a key
  bool tracks_latency = false;  // p2c with ewma_latency: callers report latencies
  int64_t ewma_tau_ns = 10'000'000'000;
  std::shared_ptr<metrics::ClusterStats> stats;  // kept across reloads by the metrics registry
  // TLS to the endpoints (the control thread's ContextStore keeps it across snapshots, with the
  // endpoints' sessions); null: plain TCP.
  std::shared_ptr<const tls::ClusterTls> tls;

  balancers::LoadView load_view() const { return {endpoints.loads(), total.get()}; }
  const std::string& name() const { return config->name; }
};

}  // namespace sluice::proxy
