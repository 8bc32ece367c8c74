#include "limiter/circuit_breaker.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

namespace sluice::limiter {
namespace {

constexpr int kCountBits = 20;
constexpr uint64_t kCountMax = (uint64_t{1} << kCountBits) - 1;
constexpr uint64_t kEpochMask = (uint64_t{1} << 24) - 1;

uint64_t epoch_of(uint64_t word) {
  return word >> (2 * kCountBits);
}
uint64_t requests_of(uint64_t word) {
  return (word >> kCountBits) & kCountMax;
}
uint64_t failures_of(uint64_t word) {
  return word & kCountMax;
}

}  // namespace

CircuitBreaker::CircuitBreaker(const CircuitBreakerOptions& options)
    : options_(options),
      bucket_width_(std::max<Nanos>(options.window.count() / kBuckets, 1)),
      close_after_(std::max<uint32_t>(
          options.close_after == 0 ? options.half_open_probes : options.close_after, 1)) {}

void CircuitBreaker::record(Nanos now, bool failure) noexcept {
  const uint64_t epoch = static_cast<uint64_t>(now / bucket_width_) & kEpochMask;
  std::atomic<uint64_t>& bucket = buckets_[static_cast<size_t>(now / bucket_width_) % kBuckets];
  uint64_t word = bucket.load(std::memory_order_relaxed);
  for (;;) {
    uint64_t req = 0, fail = 0;
    if (epoch_of(word) == epoch) {
      req = requests_of(word);
      fail = failures_of(word);
    }
    // Saturate instead of wrapping: the ratio stays meaningful.
    if (req < kCountMax) {
      ++req;
      if (failure) ++fail;
    }
    const uint64_t next = (epoch << (2 * kCountBits)) | (req << kCountBits) | fail;
    if (next == word) return;
    if (bucket.compare_exchange_weak(word, next, std::memory_order_relaxed)) return;
  }
}

CircuitBreaker::Totals CircuitBreaker::totals(Nanos now) const noexcept {
  const uint64_t epoch = static_cast<uint64_t>(now / bucket_width_) & kEpochMask;
  Totals t;
  for (const auto& bucket : buckets_) {
    const uint64_t word = bucket.load(std::memory_order_relaxed);
    if (((epoch - epoch_of(word)) & kEpochMask) < kBuckets) {
      t.requests += requests_of(word);
      t.failures += failures_of(word);
    }
  }
  return t;
}

void CircuitBreaker::clear_window() noexcept {
  for (auto& bucket : buckets_) bucket.store(0, std::memory_order_relaxed);
  consecutive_.store(0, std::memory_order_relaxed);
}

BreakerPermit CircuitBreaker::allow(Nanos now) noexcept {
  BreakerState s = state_.load(std::memory_order_acquire);
  if (s == BreakerState::closed) return BreakerPermit::allowed;
  if (s == BreakerState::open && now < open_until_.load(std::memory_order_relaxed)) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return BreakerPermit::denied;
  }
  std::lock_guard<SpinLock> guard(lock_);
  s = state_.load(std::memory_order_relaxed);
  if (s == BreakerState::closed) return BreakerPermit::allowed;
  if (s == BreakerState::open) {
    if (now < open_until_.load(std::memory_order_relaxed)) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return BreakerPermit::denied;
    }
    state_.store(BreakerState::half_open, std::memory_order_release);
    half_opened_.fetch_add(1, std::memory_order_relaxed);
    probes_in_flight_ = 0;
    probe_successes_ = 0;
  }
  if (probes_in_flight_ < options_.half_open_probes) {
    ++probes_in_flight_;
    return BreakerPermit::probe;
  }
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return BreakerPermit::denied;
}

void CircuitBreaker::on_success(Nanos now, BreakerPermit permit) noexcept {
  const BreakerState s = state_.load(std::memory_order_acquire);
  if (s == BreakerState::closed) {
    record(now, false);
    if (consecutive_.load(std::memory_order_relaxed) != 0) {
      consecutive_.store(0, std::memory_order_relaxed);
    }
    return;
  }
  if (permit != BreakerPermit::probe) return;  // admitted before the breaker opened: stale
  std::lock_guard<SpinLock> guard(lock_);
  if (state_.load(std::memory_order_relaxed) != BreakerState::half_open) return;
  if (probes_in_flight_ > 0) --probes_in_flight_;
  if (++probe_successes_ >= close_after_) close_locked(now);
}

void CircuitBreaker::on_failure(Nanos now, BreakerPermit permit) noexcept {
  const BreakerState s = state_.load(std::memory_order_acquire);
  if (s == BreakerState::closed) {
    record(now, true);
    const uint32_t streak = consecutive_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (options_.consecutive_failures > 0 && streak >= options_.consecutive_failures) {
      trip(now, false);
      return;
    }
    if (options_.error_ratio > 0 && options_.error_ratio <= 1) {
      const Totals t = totals(now);
      if (t.requests >= std::max<uint32_t>(options_.min_requests, 1) &&
          static_cast<double>(t.failures) >=
              options_.error_ratio * static_cast<double>(t.requests)) {
        trip(now, true);
      }
    }
    return;
  }
  if (permit != BreakerPermit::probe) return;
  std::lock_guard<SpinLock> guard(lock_);
  if (state_.load(std::memory_order_relaxed) != BreakerState::half_open) return;
  reopened_.fetch_add(1, std::memory_order_relaxed);
  ++level_;
  open_locked(now);
}

void CircuitBreaker::on_cancel(BreakerPermit permit) noexcept {
  if (permit != BreakerPermit::probe) return;
  std::lock_guard<SpinLock> guard(lock_);
  if (state_.load(std::memory_order_relaxed) == BreakerState::half_open && probes_in_flight_ > 0) {
    --probes_in_flight_;
  }
}

void CircuitBreaker::trip(Nanos now, bool by_ratio) noexcept {
  std::lock_guard<SpinLock> guard(lock_);
  if (state_.load(std::memory_order_relaxed) != BreakerState::closed) return;  // lost the race
  (by_ratio ? opened_by_ratio_ : opened_by_consecutive_).fetch_add(1, std::memory_order_relaxed);
  // Flapping (closed again for less than a window) keeps lengthening the openings.
  if (now - closed_since_ >= options_.window.count()) {
    level_ = 0;
  } else {
    ++level_;
  }
  open_locked(now);
}

void CircuitBreaker::open_locked(Nanos now) noexcept {
  const double base = static_cast<double>(options_.open_for.count());
  const double cap =
      static_cast<double>(std::max(options_.max_open_for, options_.open_for).count());
  const double grown = base * std::pow(std::max(options_.backoff_multiplier, 1.0), level_);
  const Nanos duration = static_cast<Nanos>(std::min(grown, cap));
  current_open_for_.store(duration, std::memory_order_relaxed);
  open_until_.store(now + duration, std::memory_order_relaxed);
  probes_in_flight_ = 0;
  probe_successes_ = 0;
  state_.store(BreakerState::open, std::memory_order_release);
}

void CircuitBreaker::close_locked(Nanos now) noexcept {
  clear_window();
  closed_since_ = now;
  closed_.fetch_add(1, std::memory_order_relaxed);
  state_.store(BreakerState::closed, std::memory_order_release);
}

CircuitBreakerStats CircuitBreaker::stats() const noexcept {
  CircuitBreakerStats s;
  s.state = state();
  s.opened_by_consecutive = opened_by_consecutive_.load(std::memory_order_relaxed);
  s.opened_by_ratio = opened_by_ratio_.load(std::memory_order_relaxed);
  s.half_opened = half_opened_.load(std::memory_order_relaxed);
  s.closed = closed_.load(std::memory_order_relaxed);
  s.reopened = reopened_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.current_open_for = current_open_for_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace sluice::limiter
