#include "limiter/keyed_limiter.hpp"

#include <algorithm>

namespace sluice::limiter {
namespace {

TokenBucketOptions bucket_options(const RateLimitOptions& o) {
  return {o.count, o.per, o.burst};
}
SlidingWindowOptions window_options(const RateLimitOptions& o) {
  return {o.count, o.per};
}
FixedWindowOptions fixed_options(const RateLimitOptions& o) {
  return {o.count, o.per};
}
LeakyBucketOptions leaky_options(const RateLimitOptions& o) {
  return {o.count, o.per, std::max<uint64_t>(o.burst, 1), o.queue};
}

}  // namespace

Nanos KeyedRateLimiter::default_ttl(const RateLimitOptions& o) {
  if (o.idle_ttl.count() > 0) return o.idle_ttl.count();
  using Algorithm = RateLimitOptions::Algorithm;
  switch (o.algorithm) {
    case Algorithm::token_bucket:
      // A TAT can be at most `tolerance` ahead of the last admission.
      return GcraParams::from(bucket_options(o)).tolerance + 1;
    case Algorithm::leaky_bucket:
      return LeakyBucketParams::from(leaky_options(o)).tolerance + 1;
    case Algorithm::sliding_window:
      return 2 * SlidingWindowParams::from(window_options(o)).window;
    case Algorithm::fixed_window:
      return FixedWindowParams::from(fixed_options(o)).window;
  }
  return 0;
}

uint64_t KeyedRateLimiter::refunded(uint64_t state, Nanos now, uint32_t cost) const noexcept {
  using Algorithm = RateLimitOptions::Algorithm;
  switch (options_.algorithm) {
    case Algorithm::token_bucket:
      return static_cast<uint64_t>(gcra_refund(static_cast<Nanos>(state), now, cost, gcra_));
    case Algorithm::leaky_bucket:
      return static_cast<uint64_t>(
          leaky_bucket_refund(static_cast<Nanos>(state), now, cost, leaky_));
    case Algorithm::sliding_window:
      return sliding_window_refund(state, now, cost, window_);
    case Algorithm::fixed_window:
      return fixed_window_refund(state, now, cost, fixed_);
  }
  return state;
}

KeyedRateLimiter::KeyedRateLimiter(const RateLimitOptions& options)
    : options_(options),
      gcra_(GcraParams::from(bucket_options(options))),
      window_(SlidingWindowParams::from(window_options(options))),
      fixed_(FixedWindowParams::from(fixed_options(options))),
      leaky_(LeakyBucketParams::from(leaky_options(options))),
      table_(options.max_keys, default_ttl(options)) {}

std::shared_ptr<KeyedRateLimiter> KeyedRateLimiter::hand_over(const RateLimitOptions& options,
                                                              Nanos now) {
  // Handed over already (never by StateStore, which hands over its newest only): the state
  // lives on in the successor.
  if (successor_) return successor_->hand_over(options, now);
  auto next = std::make_shared<KeyedRateLimiter>(options);
  successor_ = next;
  if (options.algorithm != options_.algorithm) {
    // Nothing converts between algorithms: the successor starts fresh (the caller's choice).
    table_.hand_over(next->table_, now, [](uint64_t&, Nanos&) { return false; });
    return next;
  }
  // A converted entry must not expire from the new table while its state still matters, so its
  // last_seen is moved forward when the new TTL would otherwise forget it too early.
  const Nanos ttl = next->table_.idle_ttl();
  // A token bucket keeps its tokens, a leaky one its backlog (both a TAT), in the new units.
  auto carry_tat = [&](auto convert) {
    table_.hand_over(next->table_, now, [&](uint64_t& state, Nanos& seen) {
      const Nanos tat = convert(static_cast<Nanos>(state));
      if (tat == 0) return false;  // a full bucket is what a missing key gets
      state = static_cast<uint64_t>(tat);
      if (ttl > 0) seen = std::max(seen, std::min(now, tat - ttl + 1));
      return true;
    });
  };
  using Algorithm = RateLimitOptions::Algorithm;
  switch (options_.algorithm) {
    case Algorithm::token_bucket:
      carry_tat([&](Nanos tat) { return gcra_convert(tat, now, gcra_, next->gcra_); });
      break;
    case Algorithm::leaky_bucket:
      carry_tat([&](Nanos tat) { return leaky_bucket_convert(tat, now, leaky_, next->leaky_); });
      break;
    case Algorithm::sliding_window: {
      const bool same_windows = window_.window == next->window_.window;
      table_.hand_over(next->table_, now, [&](uint64_t& state, Nanos& seen) {
        state = sliding_window_convert(state, now, window_, next->window_);
        // Counted in the current window now: they matter until the next one ends (TTL 2 windows).
        if (!same_windows) seen = std::max(seen, now);
        return state != 0;
      });
      break;
    }
    case Algorithm::fixed_window: {
      const bool same_windows = fixed_.window == next->fixed_.window;
      table_.hand_over(next->table_, now, [&](uint64_t& state, Nanos& seen) {
        state = fixed_window_convert(state, now, fixed_, next->fixed_);
        // Counted in the new current window: they matter until it ends (TTL one window).
        if (!same_windows) seen = std::max(seen, now);
        return state != 0;
      });
      break;
    }
  }
  return next;
}

}  // namespace sluice::limiter
