// Fixed-window counter: at most `limit` requests per window, windows aligned to multiples of the
// window length on the caller's clock (as Envoy's global rate-limit service counts). The
// simplest shape and the cheapest: a client may send `limit` at the end of one window and
// `limit` again at the start of the next (2x over a window's length across the boundary) — use
// the sliding window or the token bucket where that matters.
//
// The whole state packs into one 64-bit word — window id (40 bits) and count (24 bits) — so a
// shared window is one atomic CAS like the other shapes and the per-key table stores it in one
// slot. `limit` is therefore capped at 2^24-1 per window.
// Thread safety: FixedWindow::admit from any thread; the *_step functions are pure.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "limiter/decision.hpp"

namespace sluice::limiter {

struct FixedWindowOptions {
  uint64_t limit = 600;  // requests per window
  std::chrono::nanoseconds window = std::chrono::minutes(1);
  bool operator==(const FixedWindowOptions&) const = default;
};

inline constexpr uint64_t kFixedWindowMaxLimit = (uint64_t{1} << 24) - 1;

struct FixedWindowParams {
  uint64_t limit = 0;
  Nanos window = 1;
  static FixedWindowParams from(const FixedWindowOptions& o);
};

// One decision on a packed state word (0 is "no requests seen"). On admission *new_state
// receives the word to store; on denial it is untouched.
Decision fixed_window_step(uint64_t state, Nanos now, uint32_t cost, const FixedWindowParams& p,
                           uint64_t* new_state) noexcept;

// The state after giving back `cost` admitted at or before `now` (a later limit refused the
// request, or a queued one was abandoned): only counts of the current window come back.
uint64_t fixed_window_refund(uint64_t state, Nanos now, uint32_t cost,
                             const FixedWindowParams& p) noexcept;

// The state word that carries the count of the window `now` falls in over to `to`: kept when
// the window length stays (only the limit changed), otherwise counted in `to`'s current window
// (never fewer than were admitted). 0: nothing to carry.
uint64_t fixed_window_convert(uint64_t state, Nanos now, const FixedWindowParams& from,
                              const FixedWindowParams& to) noexcept;

class FixedWindow {
 public:
  explicit FixedWindow(const FixedWindowOptions& options)
      : options_(options), params_(FixedWindowParams::from(options)) {}

  // Lock-free; wait-free for denials.
  Decision admit(Nanos now, uint32_t cost = 1) noexcept {
    uint64_t state = state_.load(std::memory_order_relaxed);
    for (;;) {
      uint64_t next;
      Decision d = fixed_window_step(state, now, cost, params_, &next);
      if (!d.admitted) return d;
      if (state_.compare_exchange_weak(state, next, std::memory_order_relaxed)) return d;
    }
  }

  const FixedWindowOptions& options() const { return options_; }

 private:
  FixedWindowOptions options_;
  FixedWindowParams params_;
  alignas(64) std::atomic<uint64_t> state_{0};
};

}  // namespace sluice::limiter
