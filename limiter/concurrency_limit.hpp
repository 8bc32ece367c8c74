// Counters with a ceiling: max requests in flight for a route, and the per-cluster
// `limits: { max_connections, max_pending, max_requests }`. One relaxed atomic each, on its own
// cache line. Any thread may acquire/release; every successful try_acquire must be paired with
// exactly one release (ConcurrencyPermit does it on scope exit).
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice::limiter {

class ConcurrencyLimit {
 public:
  // max == 0 means unlimited (still counted, for metrics).
  explicit ConcurrencyLimit(uint32_t max = 0) : max_(max) {}

  bool try_acquire() noexcept {
    if (max_ == 0) {
      in_use_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    uint32_t cur = in_use_.load(std::memory_order_relaxed);
    do {
      if (cur >= max_) {
        rejected_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    } while (!in_use_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
    return true;
  }
  void release() noexcept { in_use_.fetch_sub(1, std::memory_order_relaxed); }

  uint32_t in_use() const noexcept { return in_use_.load(std::memory_order_relaxed); }
  uint32_t max() const noexcept { return max_; }
  uint64_t rejected() const noexcept { return rejected_.load(std::memory_order_relaxed); }

 private:
  const uint32_t max_;
  alignas(64) std::atomic<uint32_t> in_use_{0};
  std::atomic<uint64_t> rejected_{0};
};

// Move-only RAII holder of one unit of a ConcurrencyLimit.
class ConcurrencyPermit {
 public:
  ConcurrencyPermit() = default;
  static ConcurrencyPermit try_acquire(ConcurrencyLimit& limit) noexcept {
    return limit.try_acquire() ? ConcurrencyPermit(&limit) : ConcurrencyPermit();
  }
  ConcurrencyPermit(ConcurrencyPermit&& o) noexcept : limit_(o.limit_) { o.limit_ = nullptr; }
  ConcurrencyPermit& operator=(ConcurrencyPermit&& o) noexcept {
    if (this != &o) {
      reset();
      limit_ = o.limit_;
      o.limit_ = nullptr;
    }
    return *this;
  }
  ConcurrencyPermit(const ConcurrencyPermit&) = delete;
  ConcurrencyPermit& operator=(const ConcurrencyPermit&) = delete;
  ~ConcurrencyPermit() { reset(); }

  explicit operator bool() const noexcept { return limit_ != nullptr; }
  void reset() noexcept {
    if (limit_ != nullptr) limit_->release();
    limit_ = nullptr;
  }

 private:
  explicit ConcurrencyPermit(ConcurrencyLimit* limit) : limit_(limit) {}
  ConcurrencyLimit* limit_ = nullptr;
};

// Mirrors CONFIG.md `clusters[].limits`; 0 means unlimited.
struct ClusterLimitsOptions {
  uint32_t max_connections = 0;
  uint32_t max_pending = 0;
  uint32_t max_requests = 0;
  bool operator==(const ClusterLimitsOptions&) const = default;
};

struct ClusterLimits {
  explicit ClusterLimits(const ClusterLimitsOptions& o)
      : options_(o),
        connections(o.max_connections),
        pending(o.max_pending),
        requests(o.max_requests) {}
  const ClusterLimitsOptions& options() const { return options_; }
  const ClusterLimitsOptions options_;
  ConcurrencyLimit connections;  // upstream connections open or opening
  ConcurrencyLimit pending;      // requests waiting for an upstream connection
  ConcurrencyLimit requests;     // requests in flight to the cluster
};

}  // namespace sluice::limiter
