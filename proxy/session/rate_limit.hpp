// A `rate_limits:` entry as sessions apply it: local (this process) or global
// (counted across instances through Redis, per key), with its per-worker decision counters. Built
// on the control thread with the snapshot; any worker thread may call admit().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "limiter/decision.hpp"
#include "limiter/global_keyed_limiter.hpp"
#include "limiter/keyed_limiter.hpp"
#include "proxy/metrics/registry.hpp"

namespace sluice::proxy {

struct RateLimitRuntime {
  const config::RateLimit* config = nullptr;
  std::shared_ptr<limiter::KeyedRateLimiter> local;
  std::shared_ptr<limiter::GlobalKeyedLimiter> global;
  std::string policy;  // RateLimit-Policy value, e.g. "per-client";q=100;w=1
  std::shared_ptr<metrics::RateLimitStats> stats;

  // Decides for `key` now and counts the decision on `worker`'s slot.
  limiter::Decision admit(uint64_t key, unsigned worker) const;
  // The same at `now` (monotonic ns), for several limits decided at one instant.
  limiter::Decision admit(uint64_t key, unsigned worker, int64_t now) const;
  // Gives back what admit() granted `key` (another limit refused the request, or it was
  // abandoned while queued). A global limit keeps it: its tokens came from Redis.
  void refund(uint64_t key, int64_t now) const;
};

// The key a limit counts by: the client IP, a header's value (`header_value`:
// the caller's lookup of config.header; empty when absent or not HTTP), the
// route (`route_key`), or one key for everything.
uint64_t limit_key(const config::RateLimitKey& key, std::string_view header_value,
                   std::string_view client_ip, uint64_t route_key);

// Folds the key of one more part of a combined key (`key: [client_ip, route]`) into `so_far`,
// so that every combination counts apart and the order of the parts matters.
uint64_t combine_limit_keys(uint64_t so_far, uint64_t part);

// A TCP connection's consistent-hashing key: the client IP (as text, the same
// bytes HTTP hashes for `key: client_ip`).
uint64_t connection_key(std::string_view client_ip);

}  // namespace sluice::proxy
