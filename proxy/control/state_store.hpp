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
#include "limiter/global_keyed_limiter.hpp"
#include "limiter/keyed_limiter.hpp"
#include "limiter/outlier_detector.hpp"
#include "limiter/redis_sync.hpp"
#include "limiter/retry_budget.hpp"
#include "limiter/state_registry.hpp"
#include "proxy/control/endpoint_registry.hpp"
#include "proxy/tls/context_store.hpp"
#include "proxy/upstream/endpoint_list.hpp"

namespace sluice::proxy {

class StateStore {
 public:
  EndpointRegistry endpoints;
  // TLS listeners' contexts and ticket keys, kept while their section and files stay.
  tls::ContextStore tls;

  // Rate limits by name. A limit whose name stays keeps its state across reloads: the same
  // object when nothing changed; when its rate, burst or max_keys changed, a local limit's
  // per-key state is converted to the new parameters (KeyedRateLimiter::hand_over), and so is a
  // global one's per-key view (GlobalKeyedLimiter::hand_over), its Redis keys staying. Only a
  // change of key, algorithm or scope starts it afresh. Each conversion and reset is noted for the
  // reload's log.
  std::shared_ptr<limiter::KeyedRateLimiter> local_limit(const config::RateLimit& limit);
  // Also registers the limiter with the Redis sync (created from `redis`).
  std::shared_ptr<limiter::GlobalKeyedLimiter> global_limit(const config::RateLimit& limit,
                                                            const config::Redis& redis);

  struct LimitChange {
    bool reset = false;  // the state started afresh (else it was carried over, converted)
    std::string text;    // "rate limit 'rl': ..."
  };
  // After a reload took effect with `running`: what the builds since the last call did to
  // limit state, for the log; and forgets limits `running` no longer has (a name that comes
  // back later starts afresh; a global one stops leasing).
  std::vector<LimitChange> take_limit_changes(const config::Config& running);

  // Per-cluster resilience state; null when the cluster configures none. The
  // outlier detector is tied to the endpoint list too (`endpoints`, the config's or the
  // discovered ones): a new list, a new detector.
  std::shared_ptr<limiter::CircuitBreaker> breaker(const config::Cluster& cluster);
  std::shared_ptr<limiter::ClusterLimits> limits(const config::Cluster& cluster);
  std::shared_ptr<limiter::OutlierDetector> outliers(const config::Cluster& cluster,
                                                     const EndpointList& endpoints);
  // Kept while its ratio and floor stay, so the requests and retries in flight stay counted.
  std::shared_ptr<limiter::RetryBudget> retry_budget(const config::Cluster& cluster);

  // The Redis sync of global limits, once a global limit exists (null before),
  // and how often it wants a round.
  limiter::RedisSync* redis() { return redis_.get(); }
  std::chrono::milliseconds sync_interval() const { return sync_interval_; }

 private:
  // What a rate limit's state was built for: a change of any of these resets it.
  struct LimitSlot {
    config::RateLimit::Scope scope = config::RateLimit::Scope::local;
    config::RateLimitKey key;
    std::vector<config::RateLimitKey> more_keys;
    config::RateLimit::Algorithm algorithm = config::RateLimit::Algorithm::token_bucket;
    std::shared_ptr<limiter::KeyedRateLimiter> local;
    std::shared_ptr<limiter::GlobalKeyedLimiter> global;
  };
  // The slot for `limit`, emptied (and the reset noted) when its state cannot carry over.
  LimitSlot& limit_slot(const config::RateLimit& limit);
  void drop(LimitSlot& slot);

  std::map<std::string, LimitSlot> rate_limits_;
  std::vector<LimitChange> limit_changes_;
  limiter::StateRegistry<limiter::CircuitBreaker, limiter::CircuitBreakerOptions> breakers_{
      [](const limiter::CircuitBreakerOptions& o) {
        return std::make_shared<limiter::CircuitBreaker>(o);
      }};
  limiter::StateRegistry<limiter::ClusterLimits, limiter::ClusterLimitsOptions> limits_{
      [](const limiter::ClusterLimitsOptions& o) {
        return std::make_shared<limiter::ClusterLimits>(o);
      }};
  limiter::StateRegistry<limiter::RetryBudget, limiter::RetryBudgetOptions> retry_budgets_{
      [](const limiter::RetryBudgetOptions& o) {
        return std::make_shared<limiter::RetryBudget>(o);
      }};
  // Per cluster name, the detector and the endpoint list it was built for: positions index
  // the detector. One slot per name, so discovery updates do not pile up detectors.
  struct OutlierSlot {
    std::string endpoints;  // addresses, one per line
    std::shared_ptr<limiter::OutlierDetector> detector;
  };
  std::map<std::string, OutlierSlot> outliers_;
  std::unique_ptr<limiter::RedisSync> redis_;
  std::chrono::milliseconds sync_interval_{1000};
};

}  // namespace sluice::proxy
