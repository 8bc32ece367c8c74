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
  if (!redis_ok_.load(std::memory_order_relaxed)) {
    on_error_.fetch_add(1, std::memory_order_relaxed);
    d.admitted = options_.on_error == OnError::allow;
    if (!d.admitted) d.retry_after = options_.sync_interval.count();
    return d;
  }
  // Counted so the next lease covers the demand we could not serve.
  denied_.fetch_add(cost, std::memory_order_relaxed);
  d.retry_after = options_.sync_interval.count();
  d.reset = options_.sync_interval.count();
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

  // Never ask for more than the whole cluster earns in one interval (plus burst on the first),
  // so one busy instance cannot drain the bucket for the others.
  const uint64_t count = std::max<uint64_t>(options_.count, 1);
  const double per_interval = static_cast<double>(count) *
                              static_cast<double>(options_.sync_interval.count()) /
                              static_cast<double>(std::max<int64_t>(options_.per.count(), 1));
  const uint64_t cap = std::max<uint64_t>(static_cast<uint64_t>(per_interval + 0.999), 1);
  // Hold two intervals of the demand just seen, at least one token so a fresh request can pass.
  const uint64_t want = std::clamp<uint64_t>(2 * demand, 1, 2 * cap);
  if (have >= static_cast<int64_t>((want + 1) / 2)) return 0;  // enough for the next interval
  return std::min<uint64_t>(want - static_cast<uint64_t>(std::max<int64_t>(have, 0)), cap);
}

void GlobalLimiter::add_lease(uint64_t tokens) noexcept {
  if (tokens == 0) return;
  // Relative to the pool seen at lease_request, so spending in between still counts as demand.
  pool_after_last_lease_ += static_cast<int64_t>(tokens);
  pool_.fetch_add(static_cast<int64_t>(tokens), std::memory_order_relaxed);
  leased_.fetch_add(tokens, std::memory_order_relaxed);
}

}  // namespace sluice::limiter
