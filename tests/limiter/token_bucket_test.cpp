#include "limiter/token_bucket.hpp"

#include <barrier>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kMs = 1'000'000;

TEST(TokenBucket, ExactSequence) {
  TokenBucket b({.count = 10, .per = 1s, .burst = 3});  // one token per 100 ms, depth 3
  for (uint64_t left : {2u, 1u, 0u}) {
    Decision d = b.admit(0);
    EXPECT_TRUE(d.admitted);
    EXPECT_EQ(d.remaining, left);
  }
  Decision d = b.admit(0);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.retry_after, 100 * kMs);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.reset, 300 * kMs);

  d = b.admit(50 * kMs);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.retry_after, 50 * kMs);

  d = b.admit(100 * kMs);
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_FALSE(b.admit(100 * kMs).admitted);

  d = b.admit(350 * kMs);  // 2.5 tokens back, one spent
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.remaining, 1u);

  d = b.admit(1000 * kMs);  // full again
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.remaining, 2u);
  EXPECT_EQ(d.reset, 100 * kMs);
}

TEST(TokenBucket, CostAndImpossibleCost) {
  TokenBucket b({.count = 10, .per = 1s, .burst = 5});
  EXPECT_TRUE(b.admit(0, 4).admitted);
  Decision d = b.admit(0, 4);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.retry_after, 300 * kMs);
  d = b.admit(0, 6);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.retry_after, -1);
}

TEST(TokenBucket, FourTimesOverloadForTenSeconds) {
  const uint64_t rate = 100, burst = 50;
  TokenBucket b({.count = rate, .per = 1s, .burst = burst});
  uint64_t admitted = 0;
  const Nanos step = kNanosPerSecond / (4 * rate);  // 400 requests/s offered
  for (Nanos t = 0; t < 10 * kNanosPerSecond; t += step) admitted += b.admit(t).admitted;
  const double expected = rate * 10 + burst;
  EXPECT_NEAR(static_cast<double>(admitted), expected, expected * 0.01);
}

// Every decision at one instant depends only on how many were admitted before it, so two
// threads racing within each tick must admit exactly what one thread admits.
TEST(TokenBucket, TwoThreadsAdmitExactlyWhatOneThreadDoes) {
  const TokenBucketOptions opts{.count = 3000, .per = 1s, .burst = 20};
  constexpr int kTicks = 2000, kPerThreadPerTick = 5;

  TokenBucket single(opts);
  std::vector<int> expected(kTicks);
  for (int tick = 0; tick < kTicks; ++tick) {
    for (int i = 0; i < 2 * kPerThreadPerTick; ++i)
      expected[tick] += single.admit(tick * kMs).admitted;
  }

  TokenBucket shared(opts);
  std::vector<std::atomic<int>> got(kTicks);
  std::barrier sync(2);
  auto worker = [&] {
    for (int tick = 0; tick < kTicks; ++tick) {
      for (int i = 0; i < kPerThreadPerTick; ++i) {
        if (shared.admit(tick * kMs).admitted) got[tick].fetch_add(1);
      }
      sync.arrive_and_wait();
    }
  };
  std::thread a(worker), c(worker);
  a.join();
  c.join();
  int total = 0;
  for (int tick = 0; tick < kTicks; ++tick) {
    ASSERT_EQ(got[tick].load(), expected[tick]) << "tick " << tick;
    total += expected[tick];
  }
  EXPECT_EQ(total, 20 + (kTicks - 1) * kMs / 333333);  // burst, then one per 333333 ns
}

TEST(TokenBucket, TwoThreadsNoOverAdmissionAtOneInstant) {
  TokenBucket b({.count = 1000, .per = 1s, .burst = 1000});
  std::atomic<int> admitted{0};
  auto worker = [&] {
    for (int i = 0; i < 100000; ++i) admitted += b.admit(5 * kMs).admitted;
  };
  std::thread a(worker), c(worker);
  a.join();
  c.join();
  EXPECT_EQ(admitted.load(), 1000);
}

}  // namespace
}  // namespace sluice::limiter
