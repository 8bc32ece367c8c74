#include "proxy/control/state_store.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace sluice::proxy {
namespace {

std::chrono::nanoseconds to_nanos(config::Duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d);
}

}  // namespace

std::shared_ptr<limiter::KeyedRateLimiter> StateStore::local_limit(const config::RateLimit& limit) {
  limiter::RateLimitOptions o;
  o.algorithm = limit.algorithm == config::RateLimit::Algorithm::sliding_window
                    ? limiter::RateLimitOptions::Algorithm::sliding_window
                    : limiter::RateLimitOptions::Algorithm::token_bucket;
  o.count = limit.rate.count;
  o.per = to_nanos(limit.rate.per);
  o.burst = limit.burst;
  o.max_keys = limit.max_keys;
  return local_.get_or_create(limit.name, o);
}

std::shared_ptr<limiter::GlobalLimiter> StateStore::global_limit(const config::RateLimit& limit,
                                                                 const config::Redis& redis) {
  limiter::GlobalLimitOptions o;
  o.name = limit.name;
  o.count = limit.rate.count;
  o.per = to_nanos(limit.rate.per);
  o.burst = limit.burst;
  o.on_error = redis.on_error == config::Redis::OnError::deny ? limiter::OnError::deny
                                                              : limiter::OnError::allow;
  o.sync_interval = to_nanos(redis.sync_interval);
  std::shared_ptr<limiter::GlobalLimiter> state = global_.get_or_create(limit.name, o);
  if (!redis_) {
    limiter::RedisSyncOptions ro;
    const sockaddr* sa = redis.address.sockaddr_ptr();
    const size_t colon = redis.address.text.rfind(':');
    ro.host = redis.address.text.substr(0, colon);
    if (!ro.host.empty() && ro.host.front() == '[') ro.host = ro.host.substr(1, ro.host.size() - 2);
    ro.port = ntohs(sa->sa_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port
                                              : reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
    redis_ = std::make_unique<limiter::RedisSync>(ro);
    sync_interval_ =
        std::max(std::chrono::duration_cast<std::chrono::milliseconds>(redis.sync_interval),
                 std::chrono::milliseconds(1));
  }
  redis_->remove(state.get());  // a reload resolves the same limit again
  redis_->add(state);
  return state;
}

std::shared_ptr<limiter::CircuitBreaker> StateStore::breaker(const config::Cluster& cluster) {
  if (!cluster.circuit_breaker) return nullptr;
  const config::CircuitBreaker& b = *cluster.circuit_breaker;
  limiter::CircuitBreakerOptions o;
  o.consecutive_failures = static_cast<uint32_t>(b.consecutive_failures);
  o.error_ratio = b.error_ratio;
  o.window = to_nanos(b.window);
  o.min_requests = static_cast<uint32_t>(b.min_requests);
  o.open_for = to_nanos(b.open_for);
  o.half_open_probes = static_cast<uint32_t>(b.half_open_probes);
  return breakers_.get_or_create(cluster.name, o);
}

std::shared_ptr<limiter::ClusterLimits> StateStore::limits(const config::Cluster& cluster) {
  const config::ClusterLimits& l = cluster.limits;
  if (l.max_connections == 0 && l.max_pending == 0 && l.max_requests == 0) return nullptr;
  return limits_.get_or_create(cluster.name, {l.max_connections, l.max_pending, l.max_requests});
}

std::shared_ptr<limiter::OutlierDetector> StateStore::outliers(const config::Cluster& cluster) {
  if (!cluster.outlier_detection) return nullptr;
  const config::OutlierDetection& d = *cluster.outlier_detection;
  limiter::OutlierOptions options;
  // One threshold for both kinds of failure: the config has one key for it.
  options.consecutive_5xx = static_cast<uint32_t>(d.consecutive_5xx);
  options.consecutive_connect_failures = static_cast<uint32_t>(d.consecutive_5xx);
  options.base_ejection = to_nanos(d.base_ejection);
  options.max_ejected_percent = static_cast<uint32_t>(d.max_ejected_percent);
  std::string key = cluster.name;
  for (const auto& e : cluster.endpoints) key += '\n' + e.address.text;
  std::shared_ptr<limiter::OutlierDetector>& slot = outliers_[key];
  if (!slot || !(slot->options() == options))
    slot = std::make_shared<limiter::OutlierDetector>(options, cluster.endpoints.size());
  return slot;
}

}  // namespace sluice::proxy
