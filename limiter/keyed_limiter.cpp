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

}  // namespace

Nanos KeyedRateLimiter::default_ttl(const RateLimitOptions& o) {
  if (o.idle_ttl.count() > 0) return o.idle_ttl.count();
  if (o.algorithm == RateLimitOptions::Algorithm::token_bucket) {
    // A TAT can be at most `tolerance` ahead of the last admission.
    return GcraParams::from(bucket_options(o)).tolerance + 1;
  }
  return 2 * SlidingWindowParams::from(window_options(o)).window;
}

KeyedRateLimiter::KeyedRateLimiter(const RateLimitOptions& options)
    : options_(options),
      gcra_(GcraParams::from(bucket_options(options))),
      window_(SlidingWindowParams::from(window_options(options))),
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
  if (options_.algorithm == RateLimitOptions::Algorithm::token_bucket) {
    table_.hand_over(next->table_, now, [&](uint64_t& state, Nanos& seen) {
      const Nanos tat = gcra_convert(static_cast<Nanos>(state), now, gcra_, next->gcra_);
      if (tat == 0) return false;  // a full bucket is what a missing key gets
      state = static_cast<uint64_t>(tat);
      if (ttl > 0) seen = std::max(seen, std::min(now, tat - ttl + 1));
      return true;
    });
  } else {
    const bool same_windows = window_.window == next->window_.window;
    table_.hand_over(next->table_, now, [&](uint64_t& state, Nanos& seen) {
      state = sliding_window_convert(state, now, window_, next->window_);
      // Counted in the current window now: they matter until the next one ends (TTL 2 windows).
      if (!same_windows) seen = std::max(seen, now);
      return state != 0;
    });
  }
  return next;
}

}  // namespace sluice::limiter
