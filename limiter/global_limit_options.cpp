#include "limiter/global_limit_options.hpp"

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

}  // namespace sluice::limiter
