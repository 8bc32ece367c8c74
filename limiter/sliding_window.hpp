// Sliding-window counter: counts in the current and the previous fixed window, the previous one
// weighted by how much of it still overlaps the sliding window (it assumes the previous window's
// requests were spread evenly; under steady or random overload it stays within ~1% of `limit`,
// but a burst packed at the very end of one window can let up to ~2x through a true sliding
// window — use the token bucket where that matters).
//
// The whole state packs into one 64-bit word — window id (24 bits), previous count (20 bits),
// current count (20 bits) — so a shared window is one atomic CAS like the token bucket, and the
// per-key table stores it in the same slot. `limit` is therefore capped at 2^20-1 per window.
// Thread safety: SlidingWindow::admit from any thread; sliding_window_step is pure.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "limiter/decision.hpp"

namespace sluice::limiter {

struct SlidingWindowOptions {
  uint64_t limit = 600;  // requests per window
  std::chrono::nanoseconds window = std::chrono::minutes(1);
  bool operator==(const SlidingWindowOptions&) const = default;
};

inline constexpr uint64_t kSlidingWindowMaxLimit = (1u << 20) - 1;

struct SlidingWindowParams {
  uint64_t limit = 0;
  Nanos window = 1;
  static SlidingWindowParams from(const SlidingWindowOptions& o);
};

// One decision on a packed state word (0 is "no requests seen"). On admission *new_state
// receives the word to store; on denial it is untouched.
Decision sliding_window_step(uint64_t state, Nanos now, uint32_t cost, const SlidingWindowParams& p,
                             uint64_t* new_state) noexcept;

// The state after giving back `cost` admitted at or before `now` (a later limit refused the
// request): from the current window's count, or the previous one's if it was counted there.
uint64_t sliding_window_refund(uint64_t state, Nanos now, uint32_t cost,
                               const SlidingWindowParams& p) noexcept;

// The state word that carries the requests counted under `from` at `now` over to `to`: the same
// word when the window length stays (only the limit changed: the counts stand); otherwise the
// requests in the sliding window now (scaled by the length ratio when the window shrinks,
// assuming them evenly spread) counted in the current window of `to`. 0: nothing to carry.
uint64_t sliding_window_convert(uint64_t state, Nanos now, const SlidingWindowParams& from,
                                const SlidingWindowParams& to) noexcept;

class SlidingWindow {
 public:
  explicit SlidingWindow(const SlidingWindowOptions& options)
      : options_(options), params_(SlidingWindowParams::from(options)) {}

  Decision admit(Nanos now, uint32_t cost = 1) noexcept {
    uint64_t state = state_.load(std::memory_order_relaxed);
    for (;;) {
      uint64_t next;
      Decision d = sliding_window_step(state, now, cost, params_, &next);
      if (!d.admitted) return d;
      if (state_.compare_exchange_weak(state, next, std::memory_order_relaxed)) return d;
    }
  }

  const SlidingWindowOptions& options() const { return options_; }

 private:
  SlidingWindowOptions options_;
  SlidingWindowParams params_;
  alignas(64) std::atomic<uint64_t> state_{0};
};

}  // namespace sluice::limiter
