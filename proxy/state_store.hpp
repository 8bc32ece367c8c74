// State that must outlive any one snapshot, keyed by stable names so that a
// reload with an unchanged policy keeps it (DESIGN.md): endpoint load counters,
// rate-limiter buckets, and the Redis sync of global limits. Control thread
// only; workers reach the states through the snapshot, which holds them alive.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "limiter/global_limiter.hpp"
#include "limiter/keyed_limiter.hpp"
#include "limiter/redis_sync.hpp"
#include "limiter/state_registry.hpp"
#include "proxy/load_registry.hpp"

namespace sluice::proxy {

class StateStore {
 public:
  LoadRegistry loads;

  std::shared_ptr<limiter::KeyedRateLimiter> local_limit(const config::RateLimit& limit);
  // Also registers the limiter with the Redis sync (created from `redis`).
  std::shared_ptr<limiter::GlobalLimiter> global_limit(const config::RateLimit& limit,
                                                       const config::Redis& redis);

  // Control-thread timer: one Redis sync round when global limits exist.
  void tick(limiter::Nanos now);
  // How often tick() wants to run; 1 s when there is nothing to sync.
  std::chrono::milliseconds tick_interval() const;

 private:
  limiter::StateRegistry<limiter::KeyedRateLimiter, limiter::RateLimitOptions> local_{
      [](const limiter::RateLimitOptions& o) {
        return std::make_shared<limiter::KeyedRateLimiter>(o);
      }};
  limiter::StateRegistry<limiter::GlobalLimiter, limiter::GlobalLimitOptions> global_{
      [](const limiter::GlobalLimitOptions& o) {
        return std::make_shared<limiter::GlobalLimiter>(o);
      }};
  std::unique_ptr<limiter::RedisSync> redis_;
  std::chrono::milliseconds sync_interval_{1000};
};

}  // namespace sluice::proxy
