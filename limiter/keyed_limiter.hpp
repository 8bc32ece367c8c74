// A rate limit applied per key (client IP hash, header-value hash, route id): one token bucket
// or sliding window per key, held in a bounded KeyedTable. This is what a route's
// `rate_limit: <name>` resolves to on the worker: admit(key, now).
//
// Thread safety: admit() from any worker thread concurrently (per-set spin lock, see
// keyed_table.hpp). Construct on the control thread; share by shared_ptr (see StateRegistry).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "limiter/decision.hpp"
#include "limiter/keyed_table.hpp"
#include "limiter/sliding_window.hpp"
#include "limiter/token_bucket.hpp"

namespace sluice::limiter {

// Mirrors CONFIG.md `rate_limits[]` (minus `key`, which the proxy turns into a hash, and `scope`,
// which selects GlobalLimiter instead).
struct RateLimitOptions {
  enum class Algorithm { token_bucket, sliding_window };
  Algorithm algorithm = Algorithm::token_bucket;
  uint64_t count = 100;  // `rate: 100/s` -> count 100, per 1s
  std::chrono::nanoseconds per = std::chrono::seconds(1);
  uint64_t burst = 0;        // token bucket only; 0 means count
  size_t max_keys = 100000;  // bound on distinct keys held
  // Keys idle this long are forgotten. 0: the time after which a key's state is equivalent to a
  // fresh one (bucket refilled / both windows passed), so expiry never changes a decision.
  std::chrono::nanoseconds idle_ttl{0};
  bool operator==(const RateLimitOptions&) const = default;
};

class KeyedRateLimiter {
 public:
  explicit KeyedRateLimiter(const RateLimitOptions& options);

  Decision admit(uint64_t key, Nanos now, uint32_t cost = 1) noexcept {
    if (options_.algorithm == RateLimitOptions::Algorithm::token_bucket) {
      return table_.with_state(key, now, [&](uint64_t& state) {
        Nanos next;
        Decision d = gcra_step(static_cast<Nanos>(state), now, cost, gcra_, &next);
        if (d.admitted) state = static_cast<uint64_t>(next);
        return d;
      });
    }
    return table_.with_state(key, now, [&](uint64_t& state) {
      return sliding_window_step(state, now, cost, window_, &state);
    });
  }

  const RateLimitOptions& options() const { return options_; }
  const KeyedTable& table() const { return table_; }

 private:
  static Nanos default_ttl(const RateLimitOptions& o);

  RateLimitOptions options_;
  GcraParams gcra_;
  SlidingWindowParams window_;
  KeyedTable table_;
};

}  // namespace sluice::limiter
