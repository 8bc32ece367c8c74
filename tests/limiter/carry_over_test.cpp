// A reload that changes a local limit's parameters carries every key's state over, converted
// (issue #13, item 4): KeyedRateLimiter::hand_over and the pure conversions under it. Fake time.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "limiter/keyed_limiter.hpp"

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
using Algorithm = RateLimitOptions::Algorithm;
constexpr Nanos kSec = kNanosPerSecond;

int admitted(KeyedRateLimiter& l, uint64_t key, Nanos now, int attempts) {
  int n = 0;
  for (int i = 0; i < attempts; ++i) n += l.admit(key, now).admitted;
  return n;
}

// The probe: 10/min -> 11/min must not let an exhausted client through.
TEST(CarryOver, RateChangeKeepsAnExhaustedBucketExhausted) {
  auto old = std::make_shared<KeyedRateLimiter>(
      RateLimitOptions{.count = 10, .per = 60s, .max_keys = 1000});
  EXPECT_EQ(admitted(*old, 1, 0, 12), 10);
  EXPECT_EQ(admitted(*old, 3, 0, 4), 4);  // 6 tokens left
  auto next = old->hand_over({.count = 11, .per = 60s, .max_keys = 1000}, 1 * kSec);
  EXPECT_EQ(admitted(*next, 1, 1 * kSec, 3), 0);
  // The second that passed earned 1/6 of a token, and it is kept: the next whole token comes
  // 5/6 of a new emission interval (60/11 s) later, not a whole one.
  const Nanos empty_until = 1 * kSec + 50 * kSec / 11;
  EXPECT_EQ(admitted(*next, 1, empty_until - 10'000'000, 1), 0);
  EXPECT_EQ(admitted(*next, 1, empty_until + 10'000'000, 2), 1);
  // A bucket 6/10 full keeps its 6 (plus the second's refill, under one token); a new key gets 11.
  EXPECT_EQ(admitted(*next, 3, 1 * kSec, 10), 6);
  EXPECT_EQ(admitted(*next, 2, 1 * kSec, 20), 11);
}

TEST(CarryOver, TokensAreCappedAtTheNewBurst) {
  auto old = std::make_shared<KeyedRateLimiter>(
      RateLimitOptions{.count = 1, .per = 3600s, .burst = 10, .max_keys = 1000});
  EXPECT_EQ(admitted(*old, 1, 0, 4), 4);  // 6 left
  EXPECT_EQ(admitted(*old, 2, 0, 9), 9);  // 1 left
  auto deeper = old->hand_over({.count = 1, .per = 3600s, .burst = 20, .max_keys = 1000}, 0);
  auto shallower = deeper->hand_over({.count = 1, .per = 3600s, .burst = 3, .max_keys = 1000}, 0);
  EXPECT_EQ(admitted(*shallower, 1, 0, 10), 3);  // 6 held, capped at 3
  EXPECT_EQ(admitted(*shallower, 2, 0, 10), 1);  // 1 held, not refilled
  EXPECT_EQ(admitted(*shallower, 9, 0, 10), 3);  // a new key: the new burst
}

TEST(CarryOver, GcraConvertKeepsFractionsAndFullBuckets) {
  const GcraParams a = GcraParams::from({.count = 10, .per = 1s, .burst = 10});  // 100 ms each
  const GcraParams b = GcraParams::from({.count = 20, .per = 1s, .burst = 40});  // 50 ms each
  const Nanos now = 5 * kSec;
  EXPECT_EQ(gcra_convert(0, now, a, b), 0);        // full stays full
  EXPECT_EQ(gcra_convert(now - 1, now, a, b), 0);  // so does any TAT in the past
  // 2.5 tokens held under a (TAT = now + 750 ms) -> 2.5 tokens under b: 37.5 owed x 50 ms.
  EXPECT_EQ(gcra_convert(now + 750'000'000, now, a, b), now + 1'875'000'000);
  // Empty stays empty: TAT at now + tolerance.
  EXPECT_EQ(gcra_convert(now + a.tolerance, now, a, b), now + b.tolerance);
}

TEST(CarryOver, SlidingWindowKeepsItsCounts) {
  RateLimitOptions o{.algorithm = Algorithm::sliding_window, .count = 5, .per = 60s};
  auto old = std::make_shared<KeyedRateLimiter>(o);
  EXPECT_EQ(admitted(*old, 1, 0, 7), 5);
  EXPECT_EQ(admitted(*old, 2, 0, 2), 2);
  o.count = 6;
  auto next = old->hand_over(o, 1 * kSec);
  EXPECT_EQ(admitted(*next, 1, 1 * kSec, 3), 1);  // 5 counted of 6
  EXPECT_EQ(admitted(*next, 2, 1 * kSec, 9), 4);
  EXPECT_EQ(admitted(*next, 3, 1 * kSec, 9), 6);
  o.count = 3;
  auto lower = next->hand_over(o, 2 * kSec);
  EXPECT_EQ(admitted(*lower, 1, 2 * kSec, 3), 0);  // 6 counted, over the new 3
}

TEST(CarryOver, ChangedWindowLengthScalesTheCountToIt) {
  RateLimitOptions o{.algorithm = Algorithm::sliding_window, .count = 60, .per = 60s};
  auto old = std::make_shared<KeyedRateLimiter>(o);
  EXPECT_EQ(admitted(*old, 1, 30 * kSec, 60), 60);
  EXPECT_EQ(admitted(*old, 2, 30 * kSec, 30), 30);
  o.per = 120s;  // same count, twice the window: the 60 stay counted
  auto longer = old->hand_over(o, 31 * kSec);
  EXPECT_EQ(admitted(*longer, 1, 31 * kSec, 10), 0);
  EXPECT_EQ(admitted(*longer, 2, 31 * kSec, 40), 30);
  // Ten times shorter: a tenth of them fall in the new window (assumed evenly spread).
  o.per = 12s;
  o.count = 10;
  auto shorter = longer->hand_over(o, 32 * kSec);
  EXPECT_EQ(admitted(*shorter, 2, 32 * kSec, 10), 4);  // 60 x 12/120 = 6 counted of 10
  EXPECT_EQ(sliding_window_convert(0, 0, {}, {}), 0u);
}

TEST(CarryOver, SmallerTableKeepsTheMostRecentKeys) {
  auto old = std::make_shared<KeyedRateLimiter>(
      RateLimitOptions{.count = 1, .per = 3600s, .burst = 1, .max_keys = 4096});
  for (uint64_t k = 0; k < 4000; ++k) ASSERT_TRUE(old->admit(k, static_cast<Nanos>(k)).admitted);
  auto small = old->hand_over({.count = 2, .per = 3600s, .burst = 1, .max_keys = 64}, 4000);
  EXPECT_LE(small->table().size(), small->table().capacity());
  EXPECT_GT(small->table().evictions(), 0u);  // the table fails open for the keys it dropped
  // Within each set the newest keys stayed: the very last key is still empty.
  EXPECT_FALSE(small->admit(3999, 4000).admitted);
}

TEST(CarryOver, AlgorithmChangeViaHandOverStartsFresh) {
  auto old = std::make_shared<KeyedRateLimiter>(
      RateLimitOptions{.count = 1, .per = 3600s, .burst = 1, .max_keys = 64});
  EXPECT_EQ(admitted(*old, 1, 0, 2), 1);
  auto next = old->hand_over(
      {.algorithm = Algorithm::sliding_window, .count = 2, .per = 3600s, .max_keys = 64}, 0);
  EXPECT_EQ(admitted(*next, 1, 0, 3), 2);
}

// Workers still on the old snapshot keep deciding while the control thread hands the state
// over: every decision lands in exactly one place, so no key ever gets more than its burst.
TEST(CarryOver, DecisionsRacingTheHandOverAreNeitherLostNorDoubled) {
  constexpr uint64_t kKeys = 2000;
  constexpr int kBurst = 20;
  auto old = std::make_shared<KeyedRateLimiter>(
      RateLimitOptions{.count = 1, .per = 3600s, .burst = kBurst, .max_keys = 16 * kKeys});
  std::atomic<bool> go{false};
  std::vector<std::vector<int>> counts(2, std::vector<int>(kKeys, 0));
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&, t] {
      while (!go.load()) {
      }
      for (int round = 0; round < kBurst; ++round)
        for (uint64_t k = 0; k < kKeys; ++k) counts[t][k] += old->admit(k, 0).admitted;
    });
  }
  go = true;
  std::shared_ptr<KeyedRateLimiter> next =
      old->hand_over({.count = 2, .per = 3600s, .burst = kBurst, .max_keys = 16 * kKeys}, 0);
  for (auto& w : workers) w.join();
  int over = 0;
  for (uint64_t k = 0; k < kKeys; ++k) {
    const int total = counts[0][k] + counts[1][k] + admitted(*next, k, 0, kBurst + 1);
    over += total != kBurst;
  }
  EXPECT_EQ(over, 0) << "keys whose admissions across the hand-over were not exactly the burst";
}

// The control thread walks the old table once: bounded, and short for 100k keys.
TEST(CarryOver, HandOverOfAHundredThousandKeysIsOneShortWalk) {
  auto old = std::make_shared<KeyedRateLimiter>(
      RateLimitOptions{.count = 10, .per = 60s, .max_keys = 200000});
  for (uint64_t k = 0; k < 100000; ++k) old->admit(k * 7919, 0);
  const auto start = std::chrono::steady_clock::now();
  auto next = old->hand_over({.count = 11, .per = 60s, .max_keys = 200000}, 0);
  const auto took = std::chrono::steady_clock::now() - start;
  std::printf("hand-over of %zu keys: %.2f ms\n", next->table().size(),
              std::chrono::duration<double, std::milli>(took).count());
  EXPECT_GE(next->table().size(), 99000u);
  EXPECT_LT(took, 2s);  // ~ms in a release build; generous for sanitizers
}

}  // namespace
}  // namespace sluice::limiter
