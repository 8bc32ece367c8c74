// Fixed window: exact sequences on a fake clock, refunds, and reload conversion.
#include "limiter/fixed_window.hpp"

#include <gtest/gtest.h>

#include "limiter/keyed_limiter.hpp"

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kMs = 1'000'000;

TEST(FixedWindow, ExactSequence) {
  FixedWindow w({.limit = 3, .window = 1s});
  for (uint64_t left : {2u, 1u, 0u}) {
    const Decision d = w.admit(100 * kMs);
    ASSERT_TRUE(d.admitted);
    EXPECT_EQ(d.remaining, left);
    EXPECT_EQ(d.reset, 900 * kMs);
    EXPECT_EQ(d.delay, 0);
  }
  Decision d = w.admit(999 * kMs);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.retry_after, 1 * kMs);  // the next window starts at 1000 ms
  EXPECT_EQ(d.remaining, 0u);
  // The boundary resets the count whole: three more at once (the shape's known 2x edge).
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(w.admit(1000 * kMs).admitted) << i;
  EXPECT_FALSE(w.admit(1999 * kMs).admitted);
  // A window skipped entirely leaves nothing behind.
  EXPECT_TRUE(w.admit(5500 * kMs).admitted);
}

TEST(FixedWindow, CostsAndImpossibleRequests) {
  const FixedWindowParams p = FixedWindowParams::from({.limit = 10, .window = 1s});
  uint64_t s = 0;
  Decision d = fixed_window_step(s, 0, 7, p, &s);
  ASSERT_TRUE(d.admitted);
  EXPECT_EQ(d.remaining, 0u);  // 3 left: not one more request of cost 7
  d = fixed_window_step(s, 0, 4, p, &s);
  EXPECT_FALSE(d.admitted);
  d = fixed_window_step(s, 0, 11, p, &s);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.retry_after, -1);  // never fits
}

TEST(FixedWindow, NegativeTimesUseFlooredWindows) {
  const FixedWindowParams p = FixedWindowParams::from({.limit = 1, .window = 1s});
  uint64_t s = 0;
  ASSERT_TRUE(fixed_window_step(s, -1, 1, p, &s).admitted);  // window [-1 s, 0)
  EXPECT_FALSE(fixed_window_step(s, -1, 1, p, &s).admitted);
  EXPECT_TRUE(fixed_window_step(s, 0, 1, p, &s).admitted);
}

TEST(FixedWindow, RefundGivesBackOnlyTheCurrentWindow) {
  const FixedWindowParams p = FixedWindowParams::from({.limit = 2, .window = 1s});
  uint64_t s = 0;
  fixed_window_step(s, 0, 1, p, &s);
  fixed_window_step(s, 0, 1, p, &s);
  EXPECT_FALSE(fixed_window_step(s, 0, 1, p, &s).admitted);
  s = fixed_window_refund(s, 10 * kMs, 1, p);
  EXPECT_TRUE(fixed_window_step(s, 10 * kMs, 1, p, &s).admitted);
  // In the next window the old count is gone already: a refund changes nothing.
  const uint64_t before = s;
  EXPECT_EQ(fixed_window_refund(s, 1500 * kMs, 1, p), before);
}

TEST(FixedWindow, KeyedLimiterCountsPerKeyAndCarriesOverReloads) {
  using Algorithm = RateLimitOptions::Algorithm;
  auto old = std::make_shared<KeyedRateLimiter>(RateLimitOptions{
      .algorithm = Algorithm::fixed_window, .count = 3, .per = 1s, .max_keys = 100});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(old->admit(1, 0).admitted);
  EXPECT_FALSE(old->admit(1, 0).admitted);
  EXPECT_TRUE(old->admit(2, 0).admitted);
  old->refund(1, 0);
  EXPECT_TRUE(old->admit(1, 0).admitted);
  // Limit 3 -> 5 in the same window: key 1's three still count, key 2's one.
  auto next = old->hand_over(
      {.algorithm = Algorithm::fixed_window, .count = 5, .per = 1s, .max_keys = 100}, 100 * kMs);
  int n1 = 0, n2 = 0;
  while (next->admit(1, 100 * kMs).admitted) ++n1;
  while (next->admit(2, 100 * kMs).admitted) ++n2;
  EXPECT_EQ(n1, 2);
  EXPECT_EQ(n2, 4);
  // A worker still on the old object is forwarded, not given a fresh count.
  EXPECT_FALSE(old->admit(1, 100 * kMs).admitted);
  // Another window length: the count moves into the new current window.
  auto longer = next->hand_over(
      {.algorithm = Algorithm::fixed_window, .count = 6, .per = 10s, .max_keys = 100}, 200 * kMs);
  n1 = 0;
  while (longer->admit(1, 5000 * kMs).admitted) ++n1;
  EXPECT_EQ(n1, 1);
}

}  // namespace
}  // namespace sluice::limiter
