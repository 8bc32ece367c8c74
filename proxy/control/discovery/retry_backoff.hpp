// How long a source waits before retrying after a failure: exponential back-off with jitter,
// so many sluice instances that lost the same etcd or Consul do not come back in lock-step
// (checkers without jitter hammer what they watch in bursts: envoy#10498). Control thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace sluice::proxy::discovery {

class RetryBackoff {
 public:
  RetryBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(std::max(initial, std::chrono::milliseconds(1))),
        max_(std::max(max, initial_)),
        next_(initial_),
        random_(std::random_device{}()) {}

  // A delay drawn from [d/2, d], d doubling from `initial` up to `max` with every call.
  std::chrono::milliseconds next() {
    const auto d = next_;
    next_ = std::min(next_ * 2, max_);
    std::uniform_int_distribution<long> pick(d.count() / 2, d.count());
    return std::chrono::milliseconds(pick(random_));
  }
  // After a success: the next failure starts from `initial` again.
  void reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds next_;
  std::minstd_rand random_;
};

}  // namespace sluice::proxy::discovery
