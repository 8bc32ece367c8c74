#include "limiter/token_bucket.hpp"

#include <algorithm>
#include <limits>

namespace sluice::limiter {

GcraParams GcraParams::from(const TokenBucketOptions& o) {
  GcraParams p;
  const uint64_t count = std::max<uint64_t>(o.count, 1);
  p.emission = std::max<Nanos>(o.per.count() / static_cast<Nanos>(count), 1);
  p.burst = o.burst == 0 ? count : o.burst;
  // Cap so that tat arithmetic never overflows (a bucket deeper than ~100 years is "unlimited").
  const Nanos max_tolerance = std::numeric_limits<Nanos>::max() / 4;
  p.tolerance = p.burst > static_cast<uint64_t>(max_tolerance / p.emission)
                    ? max_tolerance
                    : p.emission * static_cast<Nanos>(p.burst);
  return p;
}

Decision gcra_step(Nanos tat, Nanos now, uint32_t cost, const GcraParams& p,
                   Nanos* new_tat) noexcept {
  Decision d;
  const Nanos base = std::max(tat, now);
  const Nanos next = base + p.emission * static_cast<Nanos>(cost);
  const Nanos conform_at = next - p.tolerance;  // earliest time this request conforms
  if (now >= conform_at) {
    d.admitted = true;
    *new_tat = next;
    d.remaining =
        static_cast<uint64_t>((now - conform_at) / p.emission) / std::max<uint32_t>(cost, 1);
    d.reset = next - now;
    return d;
  }
  // Tokens available now (before this request) tell the client what it may still send.
  const Nanos available = now + p.tolerance - base;
  d.remaining = available > 0
                    ? static_cast<uint64_t>(available / p.emission) / std::max<uint32_t>(cost, 1)
                    : 0;
  d.retry_after = static_cast<uint64_t>(cost) > p.burst ? -1 : conform_at - now;
  d.reset = base - now;
  return d;
}

Nanos gcra_refund(Nanos tat, Nanos now, uint32_t cost, const GcraParams& p) noexcept {
  if (tat <= now) return tat;
  return std::max(tat - p.emission * static_cast<Nanos>(cost), now);
}

Nanos gcra_convert(Nanos tat, Nanos now, const GcraParams& from, const GcraParams& to) noexcept {
  if (tat <= now) return 0;  // full: nothing owed
  // Tokens held, in units of from.emission: how far TAT is from its limit now + tolerance.
  const Nanos held = std::max<Nanos>(from.tolerance - (tat - now), 0);
  // The same count of tokens expressed in to.emission (128-bit: both factors reach 2^61).
  const __int128 held_to = static_cast<__int128>(held) * to.emission / from.emission;
  if (held_to >= to.tolerance) return 0;  // at least a full new bucket: full
  return now + (to.tolerance - static_cast<Nanos>(held_to));
}

}  // namespace sluice::limiter
