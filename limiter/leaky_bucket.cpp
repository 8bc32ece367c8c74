#include "limiter/leaky_bucket.hpp"

#include <algorithm>
#include <limits>

namespace sluice::limiter {

LeakyBucketParams LeakyBucketParams::from(const LeakyBucketOptions& o) {
  LeakyBucketParams p;
  const uint64_t count = std::max<uint64_t>(o.count, 1);
  p.emission = std::max<Nanos>(o.per.count() / static_cast<Nanos>(count), 1);
  const uint64_t burst = std::max<uint64_t>(o.burst, 1);
  // Capped so that TAT arithmetic never overflows (a queue longer than ~100 years is endless).
  const uint64_t max_slots =
      static_cast<uint64_t>(std::numeric_limits<Nanos>::max() / 4 / p.emission);
  p.capacity = std::min(burst + o.queue, max_slots);
  p.immediate = p.emission * static_cast<Nanos>(std::min(burst, max_slots));
  p.tolerance = p.emission * static_cast<Nanos>(p.capacity);
  return p;
}

Decision leaky_bucket_step(Nanos tat, Nanos now, uint32_t cost, const LeakyBucketParams& p,
                           Nanos* new_tat) noexcept {
  Decision d;
  const Nanos base = std::max(tat, now);
  const Nanos next = base + p.emission * static_cast<Nanos>(cost);
  const Nanos lead = next - now;  // how far the bucket runs ahead of now with this request
  const uint32_t per = std::max<uint32_t>(cost, 1);
  if (lead > p.tolerance) {
    d.retry_after = static_cast<uint64_t>(cost) > p.capacity ? -1 : lead - p.tolerance;
    d.reset = base - now;
    return d;
  }
  d.admitted = true;
  *new_tat = next;
  d.delay = std::max<Nanos>(lead - p.immediate, 0);
  d.remaining = d.delay > 0 ? 0 : static_cast<uint64_t>((p.immediate - lead) / p.emission) / per;
  d.reset = lead;
  return d;
}

Nanos leaky_bucket_refund(Nanos tat, Nanos now, uint32_t cost,
                          const LeakyBucketParams& p) noexcept {
  if (tat <= now) return tat;  // idle already: nothing is owed
  return std::max(tat - p.emission * static_cast<Nanos>(cost), now);
}

uint64_t leaky_bucket_queued(Nanos tat, Nanos now, const LeakyBucketParams& p) noexcept {
  const Nanos waiting = tat - now - p.immediate;
  return waiting > 0 ? static_cast<uint64_t>((waiting + p.emission - 1) / p.emission) : 0;
}

Nanos leaky_bucket_convert(Nanos tat, Nanos now, const LeakyBucketParams& from,
                           const LeakyBucketParams& to) noexcept {
  if (tat <= now) return 0;
  // 128-bit: both factors reach 2^61.
  const __int128 backlog = static_cast<__int128>(tat - now) * to.emission / from.emission;
  return now + static_cast<Nanos>(std::min<__int128>(std::max<__int128>(backlog, 1), to.tolerance));
}

}  // namespace sluice::limiter
