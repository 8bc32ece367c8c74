// What the workers run from: a validated Config plus everything derived from it
// once, on the control thread (balancers, load counter views, route targets).
// Immutable once published; workers only read it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "balancers/balancer.hpp"
#include "balancers/load.hpp"
#include "config/config.hpp"
#include "limiter/decision.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/control/state_store.hpp"

namespace sluice::proxy {

struct ClusterRuntime {
  const config::Cluster* config = nullptr;
  size_t index = 0;  // position in Snapshot::clusters, for per-worker state
  std::unique_ptr<balancers::Balancer> balancer;
  // Load counters, one per endpoint (kept alive here, owned by the LoadRegistry).
  std::vector<std::shared_ptr<balancers::EndpointLoad>> loads;
  std::vector<balancers::EndpointLoad*> load_pointers;
  std::shared_ptr<balancers::LoadTotal> total;  // only when bounded-load hashing needs it
  // Resilience state, kept across reloads by the StateStore; null when not configured.
  std::shared_ptr<limiter::CircuitBreaker> breaker;
  std::shared_ptr<limiter::ClusterLimits> limits;
  std::shared_ptr<limiter::OutlierDetector> outliers;
  // The balancer reads the load counters (least_conn, p2c, bounded load), so
  // requests must count in them; others skip the shared atomics entirely.
  bool tracks_load = false;
  bool needs_key = false;       // consistent hashing: callers must compute a key
  bool tracks_latency = false;  // p2c with ewma_latency: callers report latencies
  int64_t ewma_tau_ns = 10'000'000'000;
  std::shared_ptr<metrics::ClusterStats> stats;  // kept across reloads by the metrics registry

  balancers::LoadView load_view() const { return {load_pointers, total.get()}; }
};

// A `rate_limits:` entry as workers use it: local (this process) or global
// (leased from Redis). Any worker thread may call admit().
struct RateLimitRuntime {
  const config::RateLimit* config = nullptr;
  std::shared_ptr<limiter::KeyedRateLimiter> local;
  std::shared_ptr<limiter::GlobalLimiter> global;
  std::string policy;  // RateLimit-Policy value, e.g. "per-client";q=100;w=1
  std::shared_ptr<metrics::RateLimitStats> stats;

  limiter::Decision admit(uint64_t key, limiter::Nanos now) const {
    return local ? local->admit(key, now) : global->admit(now);
  }
};

struct ListenerRuntime {
  const config::Listener* config = nullptr;
  const ClusterRuntime* cluster = nullptr;       // tcp listeners
  const RateLimitRuntime* rate_limit = nullptr;  // tcp listeners: applied at accept
  // http listeners, per config->routes[i]: the cluster (null for direct
  // responses) and the rate limit (null for none).
  std::vector<const ClusterRuntime*> route_clusters;
  std::vector<const RateLimitRuntime*> route_rate_limits;
  std::vector<uint64_t> route_keys;  // for `key: route` limits, see route_key()
  std::shared_ptr<metrics::ListenerStats> stats;
  // http listeners: responses per route (same positions), and for requests
  // that reached no route (bad requests, no match).
  std::vector<std::shared_ptr<metrics::RouteStats>> route_stats;
  std::shared_ptr<metrics::RouteStats> unrouted_stats;
};

struct Snapshot {
  std::shared_ptr<const config::Config> config;
  std::vector<ClusterRuntime> clusters;
  std::vector<RateLimitRuntime> rate_limits;
  std::vector<ListenerRuntime> listeners;

  // Null with `error` set when a cluster's balancer cannot be built. State and
  // stats come from `state` and `metrics`, so names that stay keep theirs.
  static std::shared_ptr<const Snapshot> build(std::shared_ptr<const config::Config> config,
                                               StateStore& state, metrics::Registry& metrics,
                                               std::string& error);
};

}  // namespace sluice::proxy
