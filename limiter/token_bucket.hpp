// Token bucket implemented as GCRA (generic cell rate algorithm): the whole state is one
// "theoretical arrival time" (TAT), so a bucket shared by every worker is one atomic 64-bit word
// updated with a CAS; a denial writes nothing.
//
// Semantics: `burst` requests may pass at once from a full bucket, then one every
// `per / count`. Thread safety: TokenBucket::admit may be called concurrently from any thread;
// gcra_step is a pure function.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "limiter/decision.hpp"

namespace sluice::limiter {

struct TokenBucketOptions {
  uint64_t count = 100;  // tokens refilled per `per`
  std::chrono::nanoseconds per = std::chrono::seconds(1);
  uint64_t burst = 0;  // bucket depth; 0 means `count`
  bool operator==(const TokenBucketOptions&) const = default;
};

// Derived integer parameters. The emission interval is rounded to whole nanoseconds, so rates
// above ~10^6/s lose precision (≤ 0.1% at 10^6/s).
struct GcraParams {
  Nanos emission = 0;   // time per token
  Nanos tolerance = 0;  // emission * burst: how far TAT may run ahead of now
  uint64_t burst = 0;
  static GcraParams from(const TokenBucketOptions& o);
};

// One GCRA decision on a TAT value. On admission *new_tat receives the value to store; on denial
// it is left untouched. A TAT of 0 (or any value <= now) is a full bucket.
Decision gcra_step(Nanos tat, Nanos now, uint32_t cost, const GcraParams& p,
                   Nanos* new_tat) noexcept;

// The TAT after `cost` admitted earlier is given back (a later limit refused the request): one
// emission per unit, a bucket never fuller than full.
Nanos gcra_refund(Nanos tat, Nanos now, uint32_t cost, const GcraParams& p) noexcept;

// The TAT that gives a bucket under `to` the tokens one under `from` holds at `now` (fractions
// included), capped at `to`'s burst: how a reload carries a bucket over to new parameters
// (10/min -> 11/min leaves an empty bucket empty). 0 when the result is a full bucket.
Nanos gcra_convert(Nanos tat, Nanos now, const GcraParams& from, const GcraParams& to) noexcept;

class TokenBucket {
 public:
  explicit TokenBucket(const TokenBucketOptions& options)
      : options_(options), params_(GcraParams::from(options)) {}

  // Lock-free; wait-free for denials. `now` may differ slightly between callers: an older `now`
  // only makes that caller's decision more conservative.
  Decision admit(Nanos now, uint32_t cost = 1) noexcept {
    Nanos tat = tat_.load(std::memory_order_relaxed);
    for (;;) {
      Nanos next;
      Decision d = gcra_step(tat, now, cost, params_, &next);
      if (!d.admitted) return d;
      if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return d;
    }
  }

  const TokenBucketOptions& options() const { return options_; }
  const GcraParams& params() const { return params_; }

 private:
  TokenBucketOptions options_;
  GcraParams params_;
  alignas(64) std::atomic<Nanos> tat_{0};
};

}  // namespace sluice::limiter
