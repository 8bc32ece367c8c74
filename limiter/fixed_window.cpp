#include "limiter/fixed_window.hpp"

#include <algorithm>

namespace sluice::limiter {
namespace {

constexpr int kCountBits = 24;
constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
constexpr uint64_t kIdMask = (uint64_t{1} << 40) - 1;

struct Position {
  uint64_t id;    // of the window `now` falls in (wrapped to 40 bits)
  Nanos elapsed;  // into that window, [0, w)
};
Position position(Nanos now, Nanos w) {
  const Nanos abs_id = now >= 0 ? now / w : (now - w + 1) / w;
  return {static_cast<uint64_t>(abs_id) & kIdMask, now - abs_id * w};
}

// The count of window `id`: the stored one when the word is of that window, else none. (Ids
// wrap after 2^40 windows; the per-key table's idle TTL forgets a key long before.)
uint64_t count_in(uint64_t state, uint64_t id) {
  return state != 0 && (state >> kCountBits) == id ? state & kCountMask : 0;
}

uint64_t pack(uint64_t id, uint64_t count) {
  return (id << kCountBits) | count;
}

}  // namespace

FixedWindowParams FixedWindowParams::from(const FixedWindowOptions& o) {
  FixedWindowParams p;
  p.limit = std::min(o.limit, kFixedWindowMaxLimit);
  p.window = std::max<Nanos>(o.window.count(), 1);
  return p;
}

Decision fixed_window_step(uint64_t state, Nanos now, uint32_t cost, const FixedWindowParams& p,
                           uint64_t* new_state) noexcept {
  const auto [id, elapsed] = position(now, p.window);
  const uint64_t used = count_in(state, id);
  const uint32_t per = std::max<uint32_t>(cost, 1);
  Decision d;
  d.reset = p.window - elapsed;  // the next window starts full
  if (used + cost <= p.limit) {
    d.admitted = true;
    *new_state = pack(id, used + cost);
    d.remaining = (p.limit - used - cost) / per;
    return d;
  }
  d.remaining = (p.limit - std::min(used, p.limit)) / per;
  d.retry_after = cost > p.limit ? -1 : p.window - elapsed;
  return d;
}

uint64_t fixed_window_refund(uint64_t state, Nanos now, uint32_t cost,
                             const FixedWindowParams& p) noexcept {
  const uint64_t id = position(now, p.window).id;
  const uint64_t used = count_in(state, id);
  if (used == 0) return state;  // counted in a window that is over: nothing to give back
  return pack(id, used - std::min<uint64_t>(used, cost));
}

uint64_t fixed_window_convert(uint64_t state, Nanos now, const FixedWindowParams& from,
                              const FixedWindowParams& to) noexcept {
  if (state == 0 || from.window == to.window) return state;
  const uint64_t used = count_in(state, position(now, from.window).id);
  return used == 0 ? 0 : pack(position(now, to.window).id, used);
}

}  // namespace sluice::limiter
