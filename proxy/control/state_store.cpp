#include "proxy/control/state_store.hpp"

#include <arpa/inet.h>

#include <strings.h>

#include <algorithm>
#include <set>
#include <utility>

#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"

namespace sluice::proxy {
namespace {

std::chrono::nanoseconds to_nanos(config::Duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d);
}

std::string key_text(const config::RateLimitKey& key) {
  using Source = config::RateLimitKey::Source;
  switch (key.source) {
    case Source::client_ip:
      return "client_ip";
    case Source::header:
      return "header:" + key.header;
    case Source::route:
      return "route";
    case Source::global:
      return "global";
  }
  return "?";
}

// The whole key, combined parts joined by '+' ("client_ip+route").
std::string keys_text(const config::RateLimitKey& first,
                      const std::vector<config::RateLimitKey>& more) {
  std::string text = key_text(first);
  for (const config::RateLimitKey& k : more) text += "+" + key_text(k);
  return text;
}

bool same_keys(const config::RateLimitKey& a, const config::RateLimitKey& b) {
  // Header names are case-insensitive: X-Api-Key and x-api-key count the same clients.
  return a.source == b.source && ::strcasecmp(a.header.c_str(), b.header.c_str()) == 0;
}

const char* algorithm_text(config::RateLimit::Algorithm a) {
  constexpr const char* kNames[] = {"token_bucket", "sliding_window", "fixed_window",
                                    "leaky_bucket"};
  return kNames[static_cast<size_t>(a)];
}

const char* scope_text(config::RateLimit::Scope s) {
  return s == config::RateLimit::Scope::global ? "global" : "local";
}

// Why the state built for `was` means nothing under `next` ("" when it carries over): another
// key counts other clients, another algorithm or scope keeps another kind of state.
template <class Slot>
std::string reset_reason(const Slot& was, const config::RateLimit& next) {
  auto changed = [](const char* what, const std::string& from, const std::string& to) {
    return std::string(what) + " changed from " + from + " to " + to;
  };
  if (was.scope != next.scope)
    return changed("scope", scope_text(was.scope), scope_text(next.scope));
  const bool same_parts =
      was.more_keys.size() == next.more_keys.size() &&
      std::equal(was.more_keys.begin(), was.more_keys.end(), next.more_keys.begin(), same_keys);
  if (!same_keys(was.key, next.key) || !same_parts)
    return changed("key", keys_text(was.key, was.more_keys), keys_text(next.key, next.more_keys));
  if (was.algorithm != next.algorithm)
    return changed("algorithm", algorithm_text(was.algorithm), algorithm_text(next.algorithm));
  return {};
}

}  // namespace

StateStore::LimitSlot& StateStore::limit_slot(const config::RateLimit& limit) {
  auto [it, added] = rate_limits_.try_emplace(limit.name);
  LimitSlot& slot = it->second;
  if (!added) {
    if (std::string why = reset_reason(slot, limit); !why.empty()) {
      limit_changes_.push_back({true, "rate limit '" + limit.name + "': state reset: " + why});
      drop(slot);
    }
  }
  slot.scope = limit.scope;
  slot.key = limit.key;
  slot.more_keys = limit.more_keys;
  slot.algorithm = limit.algorithm;
  return slot;
}

void StateStore::drop(LimitSlot& slot) {
  // Snapshots still running hold their own references: the old state lives until they go.
  if (slot.global && redis_) redis_->remove(slot.global.get());
  slot.local.reset();
  slot.global.reset();
}

std::vector<StateStore::LimitChange> StateStore::take_limit_changes(const config::Config& running) {
  std::set<std::string> names;
  for (const auto& r : running.rate_limits) names.insert(r.name);
  for (auto it = rate_limits_.begin(); it != rate_limits_.end();) {
    if (names.contains(it->first)) {
      ++it;
    } else {
      drop(it->second);
      it = rate_limits_.erase(it);
    }
  }
  return std::exchange(limit_changes_, {});
}

std::shared_ptr<limiter::KeyedRateLimiter> StateStore::local_limit(const config::RateLimit& limit) {
  limiter::RateLimitOptions o;
  // The two enums name the same algorithms in the same order.
  o.algorithm = static_cast<limiter::RateLimitOptions::Algorithm>(limit.algorithm);
  o.queue = limit.queue;
  o.count = limit.rate.count;
  o.per = to_nanos(limit.rate.per);
  o.burst = limit.burst;
  o.max_keys = limit.max_keys;
  LimitSlot& slot = limit_slot(limit);
  if (!slot.local) {
    slot.local = std::make_shared<limiter::KeyedRateLimiter>(o);
  } else if (!(slot.local->options() == o)) {
    // Before the snapshot is published: workers still on the running one decide on the old
    // object meanwhile, which forwards each key once its state moved (see hand_over).
    slot.local = slot.local->hand_over(o, clock::monotonic_ns());
    limit_changes_.push_back(
        {false, "rate limit '" + limit.name +
                    "': new parameters; every key's state carried over, converted to them"});
  }
  return slot.local;
}

std::shared_ptr<limiter::GlobalKeyedLimiter> StateStore::global_limit(
    const config::RateLimit& limit, const config::Redis& redis) {
  limiter::GlobalLimitOptions o;
  o.name = limit.name;
  o.count = limit.rate.count;
  o.per = to_nanos(limit.rate.per);
  o.burst = limit.burst;
  o.on_error = redis.on_error == config::Redis::OnError::deny ? limiter::OnError::deny
                                                              : limiter::OnError::allow;
  o.sync_interval = to_nanos(redis.sync_interval);
  // The parser refuses global leaky buckets; the first three algorithms have the same order.
  o.algorithm = static_cast<limiter::GlobalAlgorithm>(limit.algorithm);
  o.max_keys = limit.max_keys;
  LimitSlot& slot = limit_slot(limit);
  if (slot.global && !(slot.global->options() == o)) {
    // Redis keys are named after the limit: the new object counts on in the same buckets and
    // windows, with every key's local view handed over. Before the snapshot is published:
    // workers still on the running one decide on the old object, which forwards each key once
    // its view moved.
    if (redis_) redis_->remove(slot.global.get());
    slot.global = slot.global->hand_over(o, clock::monotonic_ns());
    limit_changes_.push_back({false, "rate limit '" + limit.name +
                                         "': new parameters; its Redis buckets and window counts "
                                         "and every key's leased tokens carried over"});
  }
  if (!slot.global) {
    slot.global = std::make_shared<limiter::GlobalKeyedLimiter>(o);
    // Windows align on the wall clock, so that instances agree on them; workers pass
    // monotonic time.
    slot.global->set_clock_offset(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count() -
                                  clock::monotonic_ns());
    if (redis_ && redis_->stats().connected) slot.global->set_redis_ok(true);
  }
  std::shared_ptr<limiter::GlobalKeyedLimiter> state = slot.global;
  if (!redis_) {
    limiter::RedisSyncOptions ro;
    const sockaddr* sa = redis.address.sockaddr_ptr();
    const size_t colon = redis.address.text.rfind(':');
    ro.host = redis.address.text.substr(0, colon);
    if (!ro.host.empty() && ro.host.front() == '[') ro.host = ro.host.substr(1, ro.host.size() - 2);
    ro.port = ntohs(sa->sa_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port
                                              : reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
    ro.username = redis.username;
    ro.password = redis.password;
    // Once per change, not per attempt: a wrong password is retried after every backoff.
    ro.on_auth = [](bool ok, const std::string& detail) {
      if (ok)
        LOG_INFO("redis: AUTH accepted; global rate limits lease from Redis again");
      else
        LOG_ERROR(
            "redis: AUTH refused (%s); global rate limits follow on_error until it is "
            "accepted",
            detail.c_str());
    };
    redis_ = std::make_unique<limiter::RedisSync>(ro);
    sync_interval_ =
        std::max(std::chrono::duration_cast<std::chrono::milliseconds>(redis.sync_interval),
                 std::chrono::milliseconds(1));
  }
  redis_->set_timeout(redis.timeout);  // the first connect's too: a reload's from its next round
  redis_->remove(state.get());         // a reload resolves the same limit again
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

std::shared_ptr<limiter::OutlierDetector> StateStore::outliers(const config::Cluster& cluster,
                                                               const EndpointList& endpoints) {
  if (!cluster.outlier_detection) return nullptr;
  const config::OutlierDetection& d = *cluster.outlier_detection;
  limiter::OutlierOptions options;
  // One threshold for both kinds of failure: the config has one key for it.
  options.consecutive_5xx = static_cast<uint32_t>(d.consecutive_5xx);
  options.consecutive_connect_failures = static_cast<uint32_t>(d.consecutive_5xx);
  options.base_ejection = to_nanos(d.base_ejection);
  options.max_ejected_percent = static_cast<uint32_t>(d.max_ejected_percent);
  std::string list;
  for (const auto& e : endpoints.all()) list += e.address.text + '\n';
  OutlierSlot& slot = outliers_[cluster.name];
  if (!slot.detector || slot.endpoints != list || !(slot.detector->options() == options)) {
    slot.detector = std::make_shared<limiter::OutlierDetector>(options, endpoints.size());
    slot.endpoints = std::move(list);
  }
  return slot.detector;
}

std::shared_ptr<limiter::RetryBudget> StateStore::retry_budget(const config::Cluster& cluster) {
  if (!cluster.retry_budget) return nullptr;
  return retry_budgets_.get_or_create(
      cluster.name, {cluster.retry_budget->ratio, cluster.retry_budget->min_concurrency});
}

}  // namespace sluice::proxy
