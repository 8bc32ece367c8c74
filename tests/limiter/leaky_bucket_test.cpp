// Leaky-bucket shaping: exact admit/queue/refuse sequences on a fake clock, refunds of abandoned
// requests, reload conversion, and the 4x-overload simulation (rate within 1%, queue bounded).
#include "limiter/leaky_bucket.hpp"

#include <algorithm>
#include <deque>
#include <random>

#include <gtest/gtest.h>

#include "limiter/keyed_limiter.hpp"

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kMs = 1'000'000;
constexpr Nanos kSec = kNanosPerSecond;

struct Bucket {
  LeakyBucketParams p;
  Nanos tat = 0;
  Decision at(Nanos now) {
    Nanos next = tat;
    Decision d = leaky_bucket_step(tat, now, 1, p, &next);
    if (d.admitted) tat = next;
    return d;
  }
};

// 10/s, one at once, three may wait: nginx `limit_req rate=10r/s burst=3`.
TEST(LeakyBucket, ExactAdmitQueueRefuseSequence) {
  Bucket b{LeakyBucketParams::from({.count = 10, .per = 1s, .burst = 1, .queue = 3})};
  // Five at t=0: the first leaves at once, three wait 100/200/300 ms, the fifth is refused.
  Decision d = b.at(0);
  ASSERT_TRUE(d.admitted);
  EXPECT_EQ(d.delay, 0);
  EXPECT_EQ(d.remaining, 0u);
  for (Nanos want : {100 * kMs, 200 * kMs, 300 * kMs}) {
    d = b.at(0);
    ASSERT_TRUE(d.admitted);
    EXPECT_EQ(d.delay, want);
  }
  EXPECT_EQ(leaky_bucket_queued(b.tat, 0, b.p), 3u);
  d = b.at(0);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.retry_after, 100 * kMs);  // when the first queued one has left
  // At 150 ms one has left the queue (2 waiting): a new one waits behind them, until 400 ms.
  EXPECT_EQ(leaky_bucket_queued(b.tat, 150 * kMs, b.p), 2u);
  d = b.at(150 * kMs);
  ASSERT_TRUE(d.admitted);
  EXPECT_EQ(d.delay, 250 * kMs);
  EXPECT_FALSE(b.at(150 * kMs).admitted);
  // Idle long enough, the bucket is empty again: at once.
  d = b.at(2 * kSec);
  ASSERT_TRUE(d.admitted);
  EXPECT_EQ(d.delay, 0);
}

// burst 3 (nginx delay=2): three leave at once, the next ones are spaced by the rate.
TEST(LeakyBucket, BurstLeavesAtOnceThenTheRate) {
  Bucket b{LeakyBucketParams::from({.count = 10, .per = 1s, .burst = 3, .queue = 2})};
  EXPECT_EQ(b.at(0).remaining, 2u);
  EXPECT_EQ(b.at(0).remaining, 1u);
  EXPECT_EQ(b.at(0).delay, 0);
  EXPECT_EQ(b.at(0).delay, 100 * kMs);
  EXPECT_EQ(b.at(0).delay, 200 * kMs);
  EXPECT_FALSE(b.at(0).admitted);
  // queue 0 is the token bucket: refused instead of queued.
  Bucket strict{LeakyBucketParams::from({.count = 10, .per = 1s, .burst = 2, .queue = 0})};
  EXPECT_TRUE(strict.at(0).admitted);
  EXPECT_TRUE(strict.at(0).admitted);
  EXPECT_FALSE(strict.at(0).admitted);
  EXPECT_TRUE(strict.at(100 * kMs).admitted);
}

TEST(LeakyBucket, AbandonedRequestFreesItsSlot) {
  Bucket b{LeakyBucketParams::from({.count = 10, .per = 1s, .burst = 1, .queue = 2})};
  b.at(0);
  EXPECT_EQ(b.at(0).delay, 100 * kMs);
  EXPECT_EQ(b.at(0).delay, 200 * kMs);
  EXPECT_FALSE(b.at(0).admitted);
  // The one due at 200 ms goes away: the next one takes its slot at the tail.
  b.tat = leaky_bucket_refund(b.tat, 50 * kMs, 1, b.p);
  EXPECT_EQ(leaky_bucket_queued(b.tat, 50 * kMs, b.p), 1u);
  const Decision d = b.at(50 * kMs);
  ASSERT_TRUE(d.admitted);
  EXPECT_EQ(d.delay, 150 * kMs);
  // A refund never makes the bucket emptier than idle.
  EXPECT_EQ(leaky_bucket_refund(0, 5 * kSec, 1, b.p), 0);
  EXPECT_EQ(leaky_bucket_refund(5 * kSec + 10, 5 * kSec, 1, b.p), 5 * kSec);
}

TEST(LeakyBucket, ConvertKeepsTheBacklogInNewUnits) {
  const auto a = LeakyBucketParams::from({.count = 10, .per = 1s, .burst = 1, .queue = 10});
  const auto b = LeakyBucketParams::from({.count = 20, .per = 1s, .burst = 1, .queue = 3});
  EXPECT_EQ(leaky_bucket_convert(0, kSec, a, b), 0);
  // 300 ms of backlog at 100 ms each = 3 requests = 150 ms at 50 ms each.
  EXPECT_EQ(leaky_bucket_convert(kSec + 300 * kMs, kSec, a, b), kSec + 150 * kMs);
  // Capped at the new capacity (4 slots of 50 ms).
  EXPECT_EQ(leaky_bucket_convert(kSec + 900 * kMs, kSec, a, b), kSec + 200 * kMs);
}

TEST(LeakyBucket, KeyedLimiterQueuesPerKeyRefundsAndCarriesOver) {
  using Algorithm = RateLimitOptions::Algorithm;
  const RateLimitOptions o{.algorithm = Algorithm::leaky_bucket,
                           .count = 10,
                           .per = 1s,
                           .burst = 1,
                           .max_keys = 100,
                           .queue = 2};
  auto old = std::make_shared<KeyedRateLimiter>(o);
  EXPECT_EQ(old->admit(7, 0).delay, 0);
  EXPECT_EQ(old->admit(7, 0).delay, 100 * kMs);
  EXPECT_EQ(old->admit(8, 0).delay, 0);  // another key has its own queue
  EXPECT_EQ(old->admit(7, 0).delay, 200 * kMs);
  EXPECT_FALSE(old->admit(7, 0).admitted);
  old->refund(7, 10 * kMs);
  EXPECT_EQ(old->admit(7, 10 * kMs).delay, 190 * kMs);
  // Rate doubled: the backlog of 300 ms (3 requests) becomes 150 ms; the queue of 2 is full.
  RateLimitOptions faster = o;
  faster.count = 20;
  auto next = old->hand_over(faster, 0);
  EXPECT_FALSE(next->admit(7, 0).admitted);
  EXPECT_EQ(next->admit(7, 50 * kMs).delay, 100 * kMs);
  EXPECT_EQ(next->admit(8, 50 * kMs).delay, 0);  // key 8's one request left at 50 ms
}

// The probe: at 4x overload (random arrivals), requests leave at the configured rate
// within 1%, in order, never closer than the rate allows, and the queue never exceeds its bound.
TEST(LeakyBucket, FourTimesOverloadLeavesAtTheRateWithABoundedQueue) {
  constexpr uint64_t kRate = 100;  // per second
  constexpr uint64_t kQueue = 20;
  Bucket b{LeakyBucketParams::from({.count = kRate, .per = 1s, .burst = 1, .queue = kQueue})};
  std::mt19937_64 rng(14);
  std::exponential_distribution<double> gap(4.0 * kRate / kSec);  // mean 2.5 ms
  std::deque<Nanos> waiting;  // departure times of admitted requests still queued
  Nanos now = 0, last_departure = -kSec;
  uint64_t departed_in_measure = 0, refused = 0, admitted = 0;
  const Nanos warmup = 2 * kSec, end = 62 * kSec;
  size_t max_queue = 0;
  while (now < end) {
    now += static_cast<Nanos>(gap(rng));
    while (!waiting.empty() && waiting.front() <= now) waiting.pop_front();
    const Decision d = b.at(now);
    if (!d.admitted) {
      ++refused;
      continue;
    }
    ++admitted;
    const Nanos leave = now + d.delay;
    ASSERT_GE(leave, last_departure + b.p.emission) << "closer than the rate at " << now;
    last_departure = leave;
    if (leave >= warmup && leave < end) ++departed_in_measure;
    if (d.delay > 0) waiting.push_back(leave);
    max_queue = std::max(max_queue, waiting.size());
    ASSERT_EQ(leaky_bucket_queued(b.tat, now, b.p), waiting.size());
  }
  const double rate = static_cast<double>(departed_in_measure) / 60.0;
  EXPECT_NEAR(rate, kRate, kRate * 0.01);
  EXPECT_LE(max_queue, kQueue);
  EXPECT_EQ(max_queue, kQueue);      // overload does fill it
  EXPECT_GT(refused, admitted * 2);  // ~3/4 of the offered load is refused
}

}  // namespace
}  // namespace sluice::limiter
