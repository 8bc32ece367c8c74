#include "limiter/sliding_window.hpp"

#include <algorithm>

namespace sluice::limiter {
namespace {

constexpr int kCountBits = 20;
constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
constexpr uint64_t kIdMask = (uint64_t{1} << 24) - 1;

struct Unpacked {
  uint64_t id, prev, cur;
};
Unpacked unpack(uint64_t s) {
  return {s >> (2 * kCountBits), (s >> kCountBits) & kCountMask, s & kCountMask};
}
uint64_t pack(const Unpacked& u) {
  return (u.id << (2 * kCountBits)) | (u.prev << kCountBits) | u.cur;
}

struct Position {
  uint64_t id;    // of the window `now` falls in (wrapped to 24 bits)
  Nanos elapsed;  // into that window, [0, w)
};
Position position(Nanos now, Nanos w) {
  const Nanos abs_id = now >= 0 ? now / w : (now - w + 1) / w;
  return {static_cast<uint64_t>(abs_id) & kIdMask, now - abs_id * w};
}

// The counts as seen from window `id`: as stored, rolled over once, or gone when older.
Unpacked in_window(uint64_t state, uint64_t id) {
  Unpacked s = unpack(state);
  if (state == 0) return {id, 0, 0};
  const uint64_t age = (id - s.id) & kIdMask;
  if (age == 0) return s;
  if (age == 1) return {id, s.cur, 0};
  // Two or more windows old. (Ids wrap after 2^24 windows; an entry idle for an exact multiple
  // of that looks current — the per-key table's idle TTL evicts long before.)
  return {id, 0, 0};
}

}  // namespace

SlidingWindowParams SlidingWindowParams::from(const SlidingWindowOptions& o) {
  SlidingWindowParams p;
  p.limit = std::min(o.limit, kSlidingWindowMaxLimit);
  p.window = std::max<Nanos>(o.window.count(), 1);
  return p;
}

Decision sliding_window_step(uint64_t state, Nanos now, uint32_t cost, const SlidingWindowParams& p,
                             uint64_t* new_state) noexcept {
  const Nanos w = p.window;
  const auto [id, elapsed] = position(now, w);
  Unpacked s = in_window(state, id);
  // estimate * w = prev * (w - elapsed) + cur * w; 128-bit so hour-long windows cannot overflow.
  using Wide = __int128;
  const Wide weighted_prev = static_cast<Wide>(s.prev) * (w - elapsed);
  const Wide used = weighted_prev + static_cast<Wide>(s.cur) * w;
  const Wide cap = static_cast<Wide>(p.limit) * w;
  const Wide need = static_cast<Wide>(cost) * w;
  Decision d;
  if (used + need <= cap && s.cur + cost <= kCountMask) {
    d.admitted = true;
    s.cur += cost;
    *new_state = pack(s);
    d.remaining = static_cast<uint64_t>((cap - used - need) / w) / std::max<uint32_t>(cost, 1);
    // Full allowance once the current window has become the previous one and slid out.
    d.reset = 2 * w - elapsed;
    return d;
  }
  d.remaining =
      used < cap ? static_cast<uint64_t>((cap - used) / w) / std::max<uint32_t>(cost, 1) : 0;
  d.reset = (s.cur > 0 ? 2 * w : w) - elapsed;
  if (cost > p.limit) {
    d.retry_after = -1;
  } else if (s.cur + cost <= p.limit) {
    // Conforms in this window once enough of `prev` has slid out:
    // prev * (w - e) <= (limit - cur - cost) * w.
    const Wide room = static_cast<Wide>(p.limit - s.cur - cost) * w;
    const Wide e = w - room / static_cast<Wide>(s.prev);  // s.prev > 0 here
    d.retry_after = std::max<Nanos>(static_cast<Nanos>(e) - elapsed, 1);
  } else {
    // Not in this window: in the next one `cur` becomes `prev` and must slide out enough.
    const Wide room = static_cast<Wide>(p.limit - cost) * w;
    const Wide e = s.cur > 0 ? std::max<Wide>(w - room / static_cast<Wide>(s.cur), 0) : 0;
    d.retry_after = (w - elapsed) + static_cast<Nanos>(e);
  }
  return d;
}

uint64_t sliding_window_refund(uint64_t state, Nanos now, uint32_t cost,
                               const SlidingWindowParams& p) noexcept {
  if (state == 0) return 0;
  Unpacked s = in_window(state, position(now, p.window).id);
  uint64_t& from = s.cur >= cost ? s.cur : s.prev;
  from -= std::min<uint64_t>(from, cost);
  return pack(s);
}

uint64_t sliding_window_convert(uint64_t state, Nanos now, const SlidingWindowParams& from,
                                const SlidingWindowParams& to) noexcept {
  if (state == 0 || from.window == to.window) return state;
  using Wide = __int128;
  const Nanos w = from.window;
  const auto [id, elapsed] = position(now, w);
  const Unpacked s = in_window(state, id);
  // Requests in the sliding window now, as the step estimates them, rounded up (never fewer).
  Wide used =
      (static_cast<Wide>(s.prev) * (w - elapsed) + static_cast<Wide>(s.cur) * w + w - 1) / w;
  if (to.window < w) used = (used * to.window + w - 1) / w;
  if (used <= 0) return 0;
  return pack(
      {position(now, to.window).id, 0, static_cast<uint64_t>(std::min<Wide>(used, kCountMask))});
}

}  // namespace sluice::limiter
