#include "limiter/sliding_window.hpp"

#include <algorithm>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kMs = 1'000'000;

TEST(SlidingWindow, ExactSequence) {
  SlidingWindow w({.limit = 10, .window = 1s});
  for (int i = 0; i < 10; ++i) {
    Decision d = w.admit(100 * kMs);
    ASSERT_TRUE(d.admitted);
    EXPECT_EQ(d.remaining, static_cast<uint64_t>(9 - i));
  }
  Decision d = w.admit(100 * kMs);
  EXPECT_FALSE(d.admitted);
  // Current window is full: wait for the next window, then until 10 * (1 - e) <= 9.
  EXPECT_EQ(d.retry_after, 900 * kMs + 100 * kMs);
  EXPECT_FALSE(w.admit(999 * kMs).admitted);
  EXPECT_FALSE(w.admit(1000 * kMs).admitted);  // prev weighs 10 at the start of window 2
  EXPECT_TRUE(w.admit(1100 * kMs).admitted);   // 10 * 0.9 = 9 used -> one more
  EXPECT_FALSE(w.admit(1100 * kMs).admitted);
  // Half-way: 10 * 0.5 + 1 = 6 used, 4 more fit.
  int n = 0;
  while (w.admit(1500 * kMs).admitted) ++n;
  EXPECT_EQ(n, 4);
  // Two windows later everything is forgotten.
  n = 0;
  while (w.admit(3000 * kMs).admitted) ++n;
  EXPECT_EQ(n, 10);
}

// Admissions in every window position [t, t + W) stay within limit * 1.01.
void check_max_in_any_window(const std::vector<Nanos>& admitted, Nanos window, uint64_t limit) {
  size_t lo = 0, worst = 0;
  for (size_t hi = 0; hi < admitted.size(); ++hi) {
    while (admitted[hi] - admitted[lo] >= window) ++lo;
    worst = std::max(worst, hi - lo + 1);
  }
  EXPECT_LE(static_cast<double>(worst), static_cast<double>(limit) * 1.01) << worst;
  EXPECT_GE(static_cast<double>(worst), static_cast<double>(limit) * 0.95) << worst;
}

TEST(SlidingWindow, SteadyOverloadNeverExceedsLimitInAnyWindow) {
  const uint64_t limit = 1000;
  SlidingWindow w({.limit = limit, .window = 1s});
  std::vector<Nanos> admitted;
  for (Nanos t = 0; t < 20 * kNanosPerSecond; t += kNanosPerSecond / 4000) {
    if (w.admit(t).admitted) admitted.push_back(t);
  }
  check_max_in_any_window(admitted, kNanosPerSecond, limit);
  // Long-run rate is the limit.
  EXPECT_NEAR(static_cast<double>(admitted.size()), 20.0 * limit, 20.0 * limit * 0.01);
}

TEST(SlidingWindow, RandomOverloadNeverExceedsLimitInAnyWindow) {
  const uint64_t limit = 1000;
  for (double overload : {1.5, 4.0, 10.0}) {
    SlidingWindow w({.limit = limit, .window = 1s});
    std::mt19937_64 rng(42);
    std::exponential_distribution<double> gap(overload * limit / 1e9);
    std::vector<Nanos> admitted;
    for (double t = 0; t < 20e9; t += gap(rng)) {
      if (w.admit(static_cast<Nanos>(t)).admitted) admitted.push_back(static_cast<Nanos>(t));
    }
    check_max_in_any_window(admitted, kNanosPerSecond, limit);
  }
}

TEST(SlidingWindow, LimitIsCappedToPackedWidth) {
  SlidingWindow w({.limit = 10'000'000, .window = 1s});
  uint64_t n = 0;
  while (w.admit(0).admitted) ++n;
  EXPECT_EQ(n, kSlidingWindowMaxLimit);
}

}  // namespace
}  // namespace sluice::limiter
