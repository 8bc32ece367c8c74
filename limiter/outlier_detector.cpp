#include "limiter/outlier_detector.hpp"

#include <mutex>

namespace sluice::limiter {

OutlierDetector::OutlierDetector(const OutlierOptions& options, size_t endpoints)
    : options_(options),
      size_(endpoints),
      max_ejected_(endpoints * std::min<uint32_t>(options.max_ejected_percent, 100) / 100),
      endpoints_(std::make_unique<Endpoint[]>(endpoints)) {}

void OutlierDetector::on_success(size_t i) noexcept {
  Endpoint& e = endpoints_[i];
  // Skip the store when already zero: keeps the line shared between cores on the happy path.
  if (e.consecutive_5xx.load(std::memory_order_relaxed) != 0) {
    e.consecutive_5xx.store(0, std::memory_order_relaxed);
  }
  if (e.consecutive_connect.load(std::memory_order_relaxed) != 0) {
    e.consecutive_connect.store(0, std::memory_order_relaxed);
  }
}

bool OutlierDetector::on_5xx(size_t i, Nanos now) noexcept {
  const uint32_t n = endpoints_[i].consecutive_5xx.fetch_add(1, std::memory_order_relaxed) + 1;
  return options_.consecutive_5xx > 0 && n >= options_.consecutive_5xx && maybe_eject(i, now);
}

bool OutlierDetector::on_connect_failure(size_t i, Nanos now) noexcept {
  const uint32_t n = endpoints_[i].consecutive_connect.fetch_add(1, std::memory_order_relaxed) + 1;
  return options_.consecutive_connect_failures > 0 && n >= options_.consecutive_connect_failures &&
         maybe_eject(i, now);
}

size_t OutlierDetector::ejected_count(Nanos now) const noexcept {
  size_t n = 0;
  for (size_t i = 0; i < size_; ++i) n += is_ejected(i, now);
  return n;
}

bool OutlierDetector::maybe_eject(size_t i, Nanos now) noexcept {
  std::lock_guard<SpinLock> guard(lock_);
  Endpoint& e = endpoints_[i];
  if (is_ejected(i, now)) return false;  // another worker got here first
  if (ejected_count(now) + 1 > max_ejected_) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return false;  // the streak stays; the next failure tries again
  }
  const uint32_t times = e.times_ejected.fetch_add(1, std::memory_order_relaxed) + 1;
  e.ejected_until.store(now + options_.base_ejection.count() * times, std::memory_order_relaxed);
  e.consecutive_5xx.store(0, std::memory_order_relaxed);
  e.consecutive_connect.store(0, std::memory_order_relaxed);
  ejections_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace sluice::limiter
