// Circuit breaker for one cluster or one endpoint (CONFIG.md `circuit_breaker:`).
//
//   closed ──(consecutive failures, or error ratio over the rolling window with at least
//             min_requests)──► open ──(open duration passed; next allow())──► half-open
//   half-open ──(close_after probe successes)──► closed
//   half-open ──(any probe failure)──► open, for longer (backoff, capped at max_open_for)
//
// Thread safety: every method may be called concurrently from any worker. The closed state —
// the common case — is lock-free: allow() is one atomic load, results are one CAS on a rolling
// window bucket. Open/half-open transitions and probe accounting take a spin lock for a few
// instructions.
//
// Usage: `auto p = breaker.allow(now); if (!p) reject; ... breaker.on_success(now, p)` (or
// on_failure). Pass the permit back so that only probe results drive half-open, and results of
// requests admitted before the breaker opened are ignored once it has. A probe abandoned
// without a result must be returned with on_cancel(p), or half-open waits for it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

#include "limiter/decision.hpp"
#include "limiter/spin_lock.hpp"

namespace sluice::limiter {

struct CircuitBreakerOptions {
  uint32_t consecutive_failures = 5;  // 0: never trip on a streak
  double error_ratio = 0.5;           // trip when failures/requests >= this; <= 0 or > 1: never
  std::chrono::nanoseconds window = std::chrono::seconds(10);  // rolling window for the ratio
  uint32_t min_requests = 20;  // ratio ignored below this many requests in the window
  std::chrono::nanoseconds open_for = std::chrono::seconds(30);  // first opening
  uint32_t half_open_probes = 3;    // probes in flight at once while half-open
  uint32_t close_after = 0;         // probe successes needed to close; 0 = half_open_probes
  double backoff_multiplier = 2.0;  // each repeated opening lasts this much longer...
  std::chrono::nanoseconds max_open_for = std::chrono::minutes(5);  // ...up to this
  bool operator==(const CircuitBreakerOptions&) const = default;
};

enum class BreakerState : uint8_t { closed, open, half_open };

// What allow() granted. Converts to bool: may the request go ahead?
enum class BreakerPermit : uint8_t { denied, allowed, probe };
inline bool admitted(BreakerPermit p) {
  return p != BreakerPermit::denied;
}

struct CircuitBreakerStats {
  BreakerState state = BreakerState::closed;
  uint64_t opened_by_consecutive = 0;  // closed -> open
  uint64_t opened_by_ratio = 0;        // closed -> open
  uint64_t half_opened = 0;            // open -> half-open
  uint64_t closed = 0;                 // half-open -> closed
  uint64_t reopened = 0;               // half-open -> open
  uint64_t rejected = 0;               // allow() said no
  Nanos current_open_for = 0;          // duration of the latest opening
};

class CircuitBreaker {
 public:
  explicit CircuitBreaker(const CircuitBreakerOptions& options);

  BreakerPermit allow(Nanos now) noexcept;
  void on_success(Nanos now, BreakerPermit permit = BreakerPermit::allowed) noexcept;
  void on_failure(Nanos now, BreakerPermit permit = BreakerPermit::allowed) noexcept;
  void on_cancel(BreakerPermit permit) noexcept;

  BreakerState state() const noexcept { return state_.load(std::memory_order_acquire); }
  CircuitBreakerStats stats() const noexcept;
  const CircuitBreakerOptions& options() const { return options_; }

 private:
  static constexpr int kBuckets = 10;
  struct Totals {
    uint64_t requests = 0, failures = 0;
  };

  void record(Nanos now, bool failure) noexcept;
  Totals totals(Nanos now) const noexcept;
  void clear_window() noexcept;
  void trip(Nanos now, bool by_ratio) noexcept;  // closed -> open
  void open_locked(Nanos now) noexcept;          // any -> open, lock held
  void close_locked(Nanos now) noexcept;         // half-open -> closed, lock held

  const CircuitBreakerOptions options_;
  const Nanos bucket_width_;
  const uint32_t close_after_;

  alignas(64) std::atomic<BreakerState> state_{BreakerState::closed};
  std::atomic<Nanos> open_until_{0};
  std::atomic<uint32_t> consecutive_{0};
  // Each bucket: epoch (24 bits) | requests (20 bits) | failures (20 bits).
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};

  alignas(64) SpinLock lock_;
  // Guarded by lock_:
  uint32_t level_ = 0;  // openings since the breaker was last closed for a full window
  Nanos closed_since_ = std::numeric_limits<Nanos>::min() / 2;  // never closed after opening
  uint32_t probes_in_flight_ = 0;
  uint32_t probe_successes_ = 0;

  std::atomic<uint64_t> opened_by_consecutive_{0}, opened_by_ratio_{0}, half_opened_{0}, closed_{0},
      reopened_{0}, rejected_{0};
  std::atomic<Nanos> current_open_for_{0};
};

}  // namespace sluice::limiter
