#include "proxy/state_store.hpp"

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
    sync_interval_ = std::chrono::duration_cast<std::chrono::milliseconds>(redis.sync_interval);
  }
  redis_->remove(state.get());  // a reload resolves the same limit again
  redis_->add(state);
  return state;
}

void StateStore::tick(limiter::Nanos now) {
  if (redis_) redis_->tick(now);
}

std::chrono::milliseconds StateStore::tick_interval() const {
  return std::max(sync_interval_, std::chrono::milliseconds(1));
}

}  // namespace sluice::proxy
