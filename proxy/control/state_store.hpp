// State that must outlive any one snapshot, keyed by stable names so that a
// reload with an unchanged policy keeps it (DESIGN.md): endpoint load counters,
// rate-limiter buckets, and the Redis sync of global limits. Control thread
// only; workers reach the states through the snapshot, which holds them alive.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

#include "limiter/circuit_breaker.hpp"
#include "limiter/concurrency_limit.hpp"
#include "limiter/global_limiter.hpp"
#include "limiter/keyed_limiter.hpp"
#include "limiter/outlier_detector.hpp"
#include "limiter/redis_sync.hpp"
#include "limiter/state_registry.hpp"
#include "proxy/control/endpoint_registry.hpp"

namespace sluice::proxy {

class StateStore {
 public:
  EndpointRegistry endpoints;

  std::shared_ptr<limiter::KeyedRateLimiter> local_limit(const config::RateLimit& limit);
  // Also registers the limiter with the Redis sync (created from `redis`).
  std::shared_ptr<limiter::GlobalLimiter> global_limit(const config::RateLimit& limit,
                                                       const config::Redis& redis);

  // Per-cluster resilience state; null when the cluster configures none. The
  // outlier detector is tied to the endpoint list too: a new list, a new detector.
  std::shared_ptr<limiter::CircuitBreaker> breaker(const config::Cluster& cluster);
  std::shared_ptr<limiter::ClusterLimits> limits(const config::Cluster& cluster);
  std::shared_ptr<limiter::OutlierDetector> outliers(const config::Cluster& cluster);

  // The Redis sync of global limits, once a global limit exists (null before),
  // and how often it wants a round.
  limiter::RedisSync* redis() { return redis_.get(); }
  std::chrono::milliseconds sync_interval() const { return sync_interval_; }

 private:
  limiter::StateRegistry<limiter::KeyedRateLimiter, limiter::RateLimitOptions> local_{
      [](const limiter::RateLimitOptions& o) {
        return std::make_shared<limiter::KeyedRateLimiter>(o);
      }};
  limiter::StateRegistry<limiter::GlobalLimiter, limiter::GlobalLimitOptions> global_{
      [](const limiter::GlobalLimitOptions& o) {
        return std::make_shared<limiter::GlobalLimiter>(o);
      }};
  limiter::StateRegistry<limiter::CircuitBreaker, limiter::CircuitBreakerOptions> breakers_{
      [](const limiter::CircuitBreakerOptions& o) {
        return std::make_shared<limiter::CircuitBreaker>(o);
      }};
  limiter::StateRegistry<limiter::ClusterLimits, limiter::ClusterLimitsOptions> limits_{
      [](const limiter::ClusterLimitsOptions& o) {
        return std::make_shared<limiter::ClusterLimits>(o);
      }};
  // Keyed by cluster name and endpoint list: positions index the detector.
  std::map<std::string, std::shared_ptr<limiter::OutlierDetector>> outliers_;
  std::unique_ptr<limiter::RedisSync> redis_;
  std::chrono::milliseconds sync_interval_{1000};
};

}  // namespace sluice::proxy
