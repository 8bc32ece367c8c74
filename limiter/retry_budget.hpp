// A cluster's retry budget (Envoy's retry_budget, Finagle's RetryBudget): retries in flight
// stay within a share of the requests in flight, with a floor so that a quiet cluster can still
// retry; and the jittered back-off a retry waits first. Retries then never multiply the load on
// a cluster that is failing everything: at ratio 0.2, at most 1.2 attempts per request.
// Any thread: two relaxed atomics, each on its own cache line; no allocation.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace sluice::limiter {

struct RetryBudgetOptions {
  double ratio = 0.2;            // retries in flight / requests in flight
  uint32_t min_concurrency = 3;  // retries in flight always allowed
  bool operator==(const RetryBudgetOptions&) const = default;
};

class RetryBudget {
 public:
  explicit RetryBudget(const RetryBudgetOptions& options) : options_(options) {}
  const RetryBudgetOptions& options() const noexcept { return options_; }

  void request_started() noexcept { requests_.fetch_add(1, std::memory_order_relaxed); }
  void request_ended() noexcept { requests_.fetch_sub(1, std::memory_order_relaxed); }

  // One more retry in flight, if max(min_concurrency, ratio x requests in flight) allows it.
  // The requests counted include those retrying.
  bool try_retry() noexcept {
    const uint32_t requests = requests_.load(std::memory_order_relaxed);
    const auto share = static_cast<uint32_t>(options_.ratio * static_cast<double>(requests));
    const uint32_t limit = std::max(options_.min_concurrency, share);
    uint32_t cur = retries_.load(std::memory_order_relaxed);
    do {
      if (cur >= limit) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    } while (!retries_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
    return true;
  }
  void retry_ended() noexcept { retries_.fetch_sub(1, std::memory_order_relaxed); }

  uint32_t requests() const noexcept { return requests_.load(std::memory_order_relaxed); }
  uint32_t retries() const noexcept { return retries_.load(std::memory_order_relaxed); }
  uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }

 private:
  const RetryBudgetOptions options_;
  alignas(64) std::atomic<uint32_t> requests_{0};
  alignas(64) std::atomic<uint32_t> retries_{0};
  std::atomic<uint64_t> refused_{0};
};

// What one request holds on its cluster's budget: counted as in flight from admission to its
// end, and at most one retry in flight at a time (a request's attempts run one after another).
// Owned by one request; a null budget allows every retry.
class RetryBudgetTicket {
 public:
  RetryBudgetTicket() = default;
  RetryBudgetTicket(const RetryBudgetTicket&) = delete;
  RetryBudgetTicket& operator=(const RetryBudgetTicket&) = delete;
  ~RetryBudgetTicket() { end(); }

  void begin(RetryBudget* budget) noexcept {
    end();
    budget_ = budget;
    if (budget_ != nullptr) budget_->request_started();
  }
  // The next retry of this request: the previous one (if any) is over, so its slot goes back
  // before asking for one. False when the budget refuses it.
  bool try_retry() noexcept {
    if (budget_ == nullptr) return true;
    if (retrying_) budget_->retry_ended();
    retrying_ = budget_->try_retry();
    return retrying_;
  }
  void end() noexcept {
    if (budget_ == nullptr) return;
    if (retrying_) budget_->retry_ended();
    budget_->request_ended();
    budget_ = nullptr;
    retrying_ = false;
  }

 private:
  RetryBudget* budget_ = nullptr;
  bool retrying_ = false;
};

// The back-off before retry number `retry` (1 for the first): a step of base x 2^(retry-1),
// capped at `max`, and a delay uniform in [step/2, step] drawn from `random` ("equal jitter":
// retries of many requests spread out, yet each waits at least half its step). Nanoseconds.
constexpr int64_t backoff_delay_ns(int64_t base_ns, int64_t max_ns, int retry,
                                   uint64_t random) noexcept {
  if (base_ns <= 0) return 0;
  int64_t step = base_ns;
  for (int i = 1; i < retry && step < max_ns; ++i) step *= 2;
  step = std::min(step, max_ns);
  const int64_t half = step / 2;
  return half + static_cast<int64_t>(random % static_cast<uint64_t>(step - half + 1));
}

}  // namespace sluice::limiter
