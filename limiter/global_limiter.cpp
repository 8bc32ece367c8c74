#include "limiter/global_limiter.hpp"

#include <algorithm>

namespace sluice::limiter {

uint64_t lease_size(uint64_t demand, int64_t have, const GlobalLimitOptions& options) noexcept {
  // One interval of the rate, rounded up.
  const uint64_t count = std::max<uint64_t>(options.count, 1);
  const double per_interval = static_cast<double>(count) *
                              static_cast<double>(options.sync_interval.count()) /
                              static_cast<double>(std::max<int64_t>(options.per.count(), 1));
  const uint64_t share = std::max<uint64_t>(static_cast<uint64_t>(per_interval + 0.999), 1);
  const uint64_t burst = options.burst == 0 ? count : options.burst;
  // The pool to hold (see the header), whatever the demand was: two intervals of the rate while
  // the limit is in use, one while it is idle, so that a client below the rate never finds it
  // empty (sized by the demand alone, it refused requests below the rate whenever an interval
  // brought more than twice the last one's, and a fresh pool held one token). Idle pools hold
  // less because what they hold is slack for every instance: taken from the bucket, spent
  // later. More when the demand was higher, but never beyond two intervals of the rate, so one
  // busy instance cannot drain the bucket for the others; the rate's share is capped at the
  // burst, all a bucket can ever hold.
  const uint64_t floor = std::min(demand > 0 ? 2 * share : share, burst);
  const uint64_t want = std::clamp<uint64_t>(std::max(2 * demand, floor), 1, 2 * share);
  // Topped up once below three quarters: 1.5 intervals of the rate left cover a round up to
  // half an interval late, and a limit spending little sends a round every want/4 requests
  // rather than every interval.
  if (have >= static_cast<int64_t>(want - want / 4)) return 0;
  return want - static_cast<uint64_t>(std::max<int64_t>(have, 0));
}

Decision GlobalLimiter::admit(Nanos now, uint32_t cost) noexcept {
  Decision d;
  int64_t have = pool_.load(std::memory_order_relaxed);
  while (have >= static_cast<int64_t>(cost)) {
    if (pool_.compare_exchange_weak(have, have - cost, std::memory_order_relaxed)) {
      d.admitted = true;
      d.remaining = static_cast<uint64_t>(have - cost) / std::max<uint32_t>(cost, 1);
      return d;
    }
  }
  const Nanos interval = retry_after_.load(std::memory_order_relaxed);
  if (!redis_ok_.load(std::memory_order_relaxed)) {
    on_error_.fetch_add(1, std::memory_order_relaxed);
    d.by_on_error = true;
    d.admitted = !deny_on_error_.load(std::memory_order_relaxed);
    if (!d.admitted) d.retry_after = interval;
    return d;
  }
  // Counted so the next lease covers the demand we could not serve.
  denied_.fetch_add(cost, std::memory_order_relaxed);
  d.retry_after = interval;
  d.reset = interval;
  return d;
}

uint64_t GlobalLimiter::lease_request(Nanos now) noexcept {
  const int64_t have = pool_.load(std::memory_order_relaxed);
  const uint64_t denied = denied_.load(std::memory_order_relaxed);
  const uint64_t on_error = on_error_.load(std::memory_order_relaxed);
  const int64_t spent = std::max<int64_t>(pool_after_last_lease_ - have, 0);
  // Demand = what was spent + what was turned away or decided by on_error for lack of tokens.
  const uint64_t demand = static_cast<uint64_t>(spent) + (denied - denied_at_last_lease_) +
                          (on_error - on_error_at_last_lease_);
  pool_after_last_lease_ = have;
  denied_at_last_lease_ = denied;
  on_error_at_last_lease_ = on_error;

  return lease_size(demand, have, options_);
}

void GlobalLimiter::add_lease(uint64_t tokens) noexcept {
  answered_ = true;
  if (tokens == 0) return;
  // Relative to the pool seen at lease_request, so spending in between still counts as demand.
  pool_after_last_lease_ += static_cast<int64_t>(tokens);
  pool_.fetch_add(static_cast<int64_t>(tokens), std::memory_order_relaxed);
  leased_.fetch_add(tokens, std::memory_order_relaxed);
}

void GlobalLimiter::reconfigure(const GlobalLimitOptions& options) {
  options_ = options;
  deny_on_error_.store(options.on_error == OnError::deny, std::memory_order_relaxed);
  retry_after_.store(std::max<Nanos>(options.sync_interval.count(), 1), std::memory_order_relaxed);
}

}  // namespace sluice::limiter
