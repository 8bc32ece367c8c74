// A rate limit applied per key (client IP hash, header-value hash, route id): one token bucket,
// sliding window, fixed window or shaping leaky bucket per key, held in a bounded KeyedTable. This
// is what a route's `rate_limit: <name>` resolves to on the worker: admit(key, now).
//
// Thread safety: admit() from any worker thread concurrently (per-set spin lock, see
// keyed_table.hpp). Construct and hand_over on the control thread; share by shared_ptr.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "limiter/decision.hpp"
#include "limiter/fixed_window.hpp"
#include "limiter/keyed_table.hpp"
#include "limiter/leaky_bucket.hpp"
#include "limiter/sliding_window.hpp"
#include "limiter/token_bucket.hpp"

namespace sluice::limiter {

// Mirrors CONFIG.md `rate_limits[]` (minus `key`, which the proxy turns into a hash, and `scope`,
// which selects GlobalKeyedLimiter instead).
struct RateLimitOptions {
  enum class Algorithm { token_bucket, sliding_window, fixed_window, leaky_bucket };
  Algorithm algorithm = Algorithm::token_bucket;
  uint64_t count = 100;  // `rate: 100/s` -> count 100, per 1s
  std::chrono::nanoseconds per = std::chrono::seconds(1);
  // Token bucket: depth, 0 means count. Leaky bucket: requests leaving at once, 0 means 1.
  uint64_t burst = 0;
  size_t max_keys = 100000;  // bound on distinct keys held
  // Keys idle this long are forgotten. 0: the time after which a key's state is equivalent to a
  // fresh one (bucket refilled / both windows passed), so expiry never changes a decision.
  std::chrono::nanoseconds idle_ttl{0};
  uint64_t queue = 0;  // leaky bucket only: requests that may wait per key
  bool operator==(const RateLimitOptions&) const = default;
};

class KeyedRateLimiter {
 public:
  explicit KeyedRateLimiter(const RateLimitOptions& options);

  Decision admit(uint64_t key, Nanos now, uint32_t cost = 1) noexcept {
    Decision d;
    auto decide = [&](uint64_t& state) { d = step(state, now, cost); };
    // The key's state moved on (hand_over): a worker still on the old snapshot decides there.
    return table_.with_live_state(key, now, decide) ? d : successor_->admit(key, now, cost);
  }

  // Gives back `cost` that admit() granted `key` (its request was refused by another limit, or
  // abandoned while it waited in a leaky bucket's queue), so it counts for nothing.
  void refund(uint64_t key, Nanos now, uint32_t cost = 1) noexcept {
    auto give_back = [&](uint64_t& state) { state = refunded(state, now, cost); };
    if (!table_.with_live_state(key, now, give_back)) successor_->refund(key, now, cost);
  }

  // Reload with new parameters (control thread, at `now`): returns a limiter for `options`
  // holding every key's state converted (gcra_convert / sliding_window_convert; a new algorithm
  // converts nothing and starts fresh), and from then on this one passes its decisions to it.
  //
  // Why a new object that takes the state over eagerly, rather than converting in place or
  // reading the old state lazily: the parameters are read by workers without a lock and the
  // table's size may change (max_keys), so in place would need a lock or an indirection on
  // every decision; a lazy successor would keep the old table (MiBs) and a chain of them alive,
  // and would lose what workers still on the old snapshot admit after it copied a key. The walk
  // is O(capacity), once, on the control thread before the new snapshot is published (~10
  // ms for 100k keys), and each set is moved under its lock and marked: a decision on the old
  // object either happened before its set moved (and is carried over) or is forwarded. Workers
  // keep deciding meanwhile; only those whose key's set is being moved wait, for a few hundred
  // nanoseconds. Nothing is lost and nothing is counted twice.
  std::shared_ptr<KeyedRateLimiter> hand_over(const RateLimitOptions& options, Nanos now);

  const RateLimitOptions& options() const { return options_; }
  const KeyedTable& table() const { return table_; }

 private:
  static Nanos default_ttl(const RateLimitOptions& o);
  // One decision of this limit's algorithm on a key's state word (stored back when admitted).
  Decision step(uint64_t& state, Nanos now, uint32_t cost) const noexcept;
  uint64_t refunded(uint64_t state, Nanos now, uint32_t cost) const noexcept;

  RateLimitOptions options_;
  GcraParams gcra_;
  SlidingWindowParams window_;
  FixedWindowParams fixed_;
  LeakyBucketParams leaky_;
  KeyedTable table_;
  // Set once by hand_over before any set is marked; read only by a worker that saw the mark
  // under the set's lock, which orders the two.
  std::shared_ptr<KeyedRateLimiter> successor_;
};

inline Decision KeyedRateLimiter::step(uint64_t& state, Nanos now, uint32_t cost) const noexcept {
  using Algorithm = RateLimitOptions::Algorithm;
  Decision d;
  switch (options_.algorithm) {
    case Algorithm::token_bucket:
    case Algorithm::leaky_bucket: {
      Nanos next;
      d = options_.algorithm == Algorithm::token_bucket
              ? gcra_step(static_cast<Nanos>(state), now, cost, gcra_, &next)
              : leaky_bucket_step(static_cast<Nanos>(state), now, cost, leaky_, &next);
      if (d.admitted) state = static_cast<uint64_t>(next);
      return d;
    }
    case Algorithm::sliding_window:
      return sliding_window_step(state, now, cost, window_, &state);
    case Algorithm::fixed_window:
      return fixed_window_step(state, now, cost, fixed_, &state);
  }
  return d;
}

}  // namespace sluice::limiter
