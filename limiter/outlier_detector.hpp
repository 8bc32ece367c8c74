// Passive outlier detection for one cluster (CONFIG.md `outlier_detection:`): an endpoint that
// returns `consecutive_5xx` 5xx responses in a row, or fails `consecutive_connect_failures`
// connects in a row, is ejected for base_ejection × (times it has been ejected), unless that would
// put more than max_ejected_percent of the cluster's endpoints out at once (floor: a 1-endpoint
// cluster at 50% is never ejected). It comes back by itself when the time passes.
//
// Endpoints are indices into the cluster's endpoint list; build a new detector when the list
// changes (see README). Thread safety: all methods from any worker concurrently. Result reports
// are relaxed atomics on the endpoint's own cache line; an ejection decision takes a spin lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "limiter/decision.hpp"
#include "limiter/spin_lock.hpp"

namespace sluice::limiter {

struct OutlierOptions {
  uint32_t consecutive_5xx = 5;               // 0: 5xx never eject
  uint32_t consecutive_connect_failures = 5;  // 0: connect failures never eject
  std::chrono::nanoseconds base_ejection = std::chrono::seconds(30);
  uint32_t max_ejected_percent = 50;
  bool operator==(const OutlierOptions&) const = default;
};

class OutlierDetector {
 public:
  OutlierDetector(const OutlierOptions& options, size_t endpoints);

  // Report one result for endpoint `i`. The failure calls return true when they ejected it.
  void on_success(size_t i) noexcept;
  bool on_5xx(size_t i, Nanos now) noexcept;
  bool on_connect_failure(size_t i, Nanos now) noexcept;

  bool is_ejected(size_t i, Nanos now) const noexcept {
    return now < endpoints_[i].ejected_until.load(std::memory_order_relaxed);
  }
  size_t ejected_count(Nanos now) const noexcept;
  size_t size() const noexcept { return size_; }
  // Ejections so far, and ejections skipped because of max_ejected_percent.
  uint64_t ejections() const noexcept { return ejections_.load(std::memory_order_relaxed); }
  uint64_t skipped_by_cap() const noexcept { return skipped_.load(std::memory_order_relaxed); }
  uint32_t times_ejected(size_t i) const noexcept {
    return endpoints_[i].times_ejected.load(std::memory_order_relaxed);
  }
  const OutlierOptions& options() const { return options_; }

 private:
  struct alignas(64) Endpoint {
    std::atomic<uint32_t> consecutive_5xx{0};
    std::atomic<uint32_t> consecutive_connect{0};
    std::atomic<uint32_t> times_ejected{0};
    std::atomic<Nanos> ejected_until{0};
  };

  bool maybe_eject(size_t i, Nanos now) noexcept;

  const OutlierOptions options_;
  const size_t size_;
  const size_t max_ejected_;
  std::unique_ptr<Endpoint[]> endpoints_;
  SpinLock lock_;
  std::atomic<uint64_t> ejections_{0}, skipped_{0};
};

}  // namespace sluice::limiter
