#include "limiter/global_limiter.hpp"

#include <algorithm>

namespace sluice::limiter {

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
