#include "limiter/circuit_breaker.hpp"

#include <atomic>
#include <barrier>
#include <thread>

#include <gtest/gtest.h>

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kMs = 1'000'000;
constexpr Nanos kSec = 1000 * kMs;

CircuitBreakerOptions opts() {
  return {.consecutive_failures = 5,
          .error_ratio = 0.5,
          .window = 10s,
          .min_requests = 20,
          .open_for = 30s,
          .half_open_probes = 3,
          .close_after = 0,
          .backoff_multiplier = 2.0,
          .max_open_for = 100s};
}

void fail_n(CircuitBreaker& b, int n, Nanos now) {
  for (int i = 0; i < n; ++i) b.on_failure(now, b.allow(now));
}

TEST(CircuitBreaker, OpensOnConsecutiveFailures) {
  CircuitBreaker b(opts());
  fail_n(b, 4, 0);
  b.on_success(0, b.allow(0));  // breaks the streak
  fail_n(b, 4, 0);
  EXPECT_EQ(b.state(), BreakerState::closed);
  fail_n(b, 1, 0);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.stats().opened_by_consecutive, 1u);
  EXPECT_EQ(b.allow(1 * kSec), BreakerPermit::denied);
  EXPECT_EQ(b.stats().rejected, 1u);
  EXPECT_EQ(b.stats().current_open_for, 30 * kSec);
}

TEST(CircuitBreaker, OpensOnErrorRatioOnlyWithMinRequests) {
  auto o = opts();
  o.consecutive_failures = 0;
  CircuitBreaker b(o);
  // 9 failures, 9 successes interleaved: 50% but only 18 requests.
  for (int i = 0; i < 9; ++i) {
    b.on_failure(i * kMs, b.allow(i * kMs));
    b.on_success(i * kMs, b.allow(i * kMs));
  }
  EXPECT_EQ(b.state(), BreakerState::closed);
  b.on_success(20 * kMs, b.allow(20 * kMs));  // 19 requests, 9 failures
  EXPECT_EQ(b.state(), BreakerState::closed);
  b.on_failure(21 * kMs, b.allow(21 * kMs));  // 20 requests, 10 failures: 50%
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.stats().opened_by_ratio, 1u);
  EXPECT_EQ(b.stats().opened_by_consecutive, 0u);
}

TEST(CircuitBreaker, RatioForgetsOldBuckets) {
  auto o = opts();
  o.consecutive_failures = 0;
  CircuitBreaker b(o);
  for (int i = 0; i < 15; ++i) b.on_failure(0, b.allow(0));  // below min_requests
  // 11 s later those failures have left the 10 s window.
  for (int i = 0; i < 19; ++i) b.on_success(11 * kSec, b.allow(11 * kSec));
  b.on_failure(11 * kSec, b.allow(11 * kSec));
  EXPECT_EQ(b.state(), BreakerState::closed);  // 1/20 failed
}

TEST(CircuitBreaker, HalfOpenAfterOpenForThenClosesAfterKSuccesses) {
  CircuitBreaker b(opts());
  fail_n(b, 5, 0);
  ASSERT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.allow(30 * kSec - 1), BreakerPermit::denied);
  const Nanos t = 30 * kSec;
  BreakerPermit p1 = b.allow(t), p2 = b.allow(t), p3 = b.allow(t);
  EXPECT_EQ(b.state(), BreakerState::half_open);
  EXPECT_EQ(b.stats().half_opened, 1u);
  EXPECT_EQ(p1, BreakerPermit::probe);
  EXPECT_EQ(p3, BreakerPermit::probe);
  EXPECT_EQ(b.allow(t), BreakerPermit::denied);  // only 3 probes at once
  b.on_success(t, BreakerPermit::allowed);       // a stale, pre-open request: ignored
  b.on_success(t, p1);
  b.on_success(t, p2);
  EXPECT_EQ(b.state(), BreakerState::half_open);
  EXPECT_EQ(b.allow(t), BreakerPermit::probe);  // a probe slot came back
  b.on_success(t, p3);
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_EQ(b.stats().closed, 1u);
  EXPECT_EQ(b.allow(t), BreakerPermit::allowed);
}

TEST(CircuitBreaker, FailureInHalfOpenReopensWithBackoff) {
  CircuitBreaker b(opts());
  fail_n(b, 5, 0);
  Nanos t = 30 * kSec;
  BreakerPermit p = b.allow(t);
  ASSERT_EQ(p, BreakerPermit::probe);
  b.on_failure(t, p);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.stats().reopened, 1u);
  EXPECT_EQ(b.stats().current_open_for, 60 * kSec);
  EXPECT_EQ(b.allow(t + 60 * kSec - 1), BreakerPermit::denied);
  t += 60 * kSec;
  p = b.allow(t);
  ASSERT_EQ(p, BreakerPermit::probe);
  b.on_failure(t, p);
  EXPECT_EQ(b.stats().current_open_for, 100 * kSec);  // 120 s capped at max_open_for
  t += 100 * kSec;
  for (int i = 0; i < 3; ++i) b.on_success(t, b.allow(t));
  EXPECT_EQ(b.state(), BreakerState::closed);

  // Tripping again soon after closing keeps growing the opening...
  fail_n(b, 5, t + kSec);
  EXPECT_EQ(b.stats().current_open_for, 100 * kSec);
  t += kSec + 100 * kSec;
  for (int i = 0; i < 3; ++i) b.on_success(t, b.allow(t));
  ASSERT_EQ(b.state(), BreakerState::closed);
  // ...but after a full quiet window it starts from open_for again.
  fail_n(b, 5, t + 11 * kSec);
  EXPECT_EQ(b.stats().current_open_for, 30 * kSec);
  EXPECT_EQ(b.stats().opened_by_consecutive, 3u);
}

TEST(CircuitBreaker, CancelledProbeFreesItsSlot) {
  auto o = opts();
  o.half_open_probes = 1;
  CircuitBreaker b(o);
  fail_n(b, 5, 0);
  BreakerPermit p = b.allow(30 * kSec);
  ASSERT_EQ(p, BreakerPermit::probe);
  EXPECT_EQ(b.allow(30 * kSec), BreakerPermit::denied);
  b.on_cancel(p);
  EXPECT_EQ(b.allow(30 * kSec), BreakerPermit::probe);
}

// Workers race on trips and on probe slots: exactly one opening, exactly half_open_probes probes.
TEST(CircuitBreaker, ConcurrentWorkersTripOnceAndShareProbes) {
  CircuitBreaker b(opts());
  std::atomic<int> probes{0};
  std::barrier phase(2);
  auto worker = [&] {
    for (int i = 0; i < 50000; ++i) b.on_failure(0, b.allow(0));
    phase.arrive_and_wait();
    for (int i = 0; i < 50000; ++i) probes += b.allow(30 * kSec) == BreakerPermit::probe;
  };
  std::thread a(worker), c(worker);
  a.join();
  c.join();
  EXPECT_EQ(b.stats().opened_by_consecutive + b.stats().opened_by_ratio, 1u);
  EXPECT_EQ(b.stats().half_opened, 1u);
  EXPECT_EQ(probes.load(), 3);
}

}  // namespace
}  // namespace sluice::limiter
