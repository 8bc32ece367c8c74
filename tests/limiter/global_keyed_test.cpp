// GlobalKeyedLimiter without Redis: the worker-side decisions on a fake timeline and the sync
// arithmetic (collect / answer / unanswered), with Redis played by a map in the test.
#include "limiter/global_keyed_limiter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <vector>

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kMs = 1'000'000;
constexpr Nanos kSec = 1'000 * kMs;

GlobalLimitOptions options(GlobalAlgorithm algorithm, uint64_t count, uint64_t burst = 0) {
  GlobalLimitOptions o;
  o.name = "t";
  o.count = count;
  o.per = 1s;
  o.burst = burst;
  o.on_error = OnError::deny;
  o.sync_interval = 50ms;
  o.algorithm = algorithm;
  o.max_keys = 1024;
  return o;
}

TEST(GlobalWindowStep, FixedWindowAdmitsTheLimitThenWaitsForTheNextWindow) {
  GlobalKeyState s;
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(global_window_step(s, 10 * kSec + i * kMs, 1, 5, kSec, false).admitted) << i;
  const Decision d = global_window_step(s, 10 * kSec + 400 * kMs, 1, 5, kSec, false);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.retry_after, 600 * kMs);
  EXPECT_EQ(s.local_cur, 5u);
  EXPECT_TRUE(global_window_step(s, 11 * kSec, 1, 5, kSec, false).admitted);
  EXPECT_EQ(s.local_prev, 5u);  // not pushed yet: still owed to Redis for window 10
  EXPECT_EQ(s.local_cur, 1u);
}

TEST(GlobalWindowStep, CountsReportedByRedisAddToTheLocalOnes) {
  GlobalKeyState s;
  s.window = 10;
  s.seen_cur = 3;  // other instances admitted 3 in this window
  EXPECT_TRUE(global_window_step(s, 10 * kSec, 1, 5, kSec, false).admitted);
  EXPECT_TRUE(global_window_step(s, 10 * kSec, 1, 5, kSec, false).admitted);
  EXPECT_FALSE(global_window_step(s, 10 * kSec, 1, 5, kSec, false).admitted);
}

TEST(GlobalWindowStep, SlidingWindowWeighsThePreviousWindowByItsOverlap) {
  GlobalKeyState s;
  s.window = 10;
  s.seen_cur = 10;  // the previous window was full (limit 10)
  // A quarter into window 11: 10 x 0.75 = 7.5 of the previous window still count: 2 admitted.
  int admitted = 0;
  for (int i = 0; i < 5; ++i)
    admitted += global_window_step(s, 11 * kSec + 250 * kMs, 1, 10, kSec, true).admitted;
  EXPECT_EQ(admitted, 2);
  // Halfway: 5 of it count, 2 admitted already: 3 more.
  for (int i = 0; i < 5; ++i)
    admitted += global_window_step(s, 11 * kSec + 500 * kMs, 1, 10, kSec, true).admitted;
  EXPECT_EQ(admitted, 5);
  // Two windows later everything slid out.
  for (int i = 0; i < 12; ++i)
    admitted += global_window_step(s, 13 * kSec, 1, 10, kSec, true).admitted;
  EXPECT_EQ(admitted, 15);
}

TEST(GlobalBucketStep, NewKeySpendsTheBurstOnCreditThenThePool) {
  GlobalKeyState s;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(global_bucket_step(s, 1, 10, true).admitted) << i;
  EXPECT_FALSE(global_bucket_step(s, 1, 10, true).admitted);
  EXPECT_EQ(s.owed, 10u);
  EXPECT_EQ(s.spent, 10u);
  EXPECT_EQ(s.denied, 1u);
  s.pool = 2;
  EXPECT_TRUE(global_bucket_step(s, 1, 10, true).admitted);
  EXPECT_EQ(s.owed, 10u);  // from the pool: nothing more owed
  EXPECT_EQ(s.pool, 1);
}

TEST(GlobalBucketStep, RedisDownSpendsThePoolThenLeavesItToOnError) {
  GlobalKeyState s;
  s.flags = GlobalKeyState::kSeeded;
  s.pool = 1;
  s.credit = 5;
  EXPECT_TRUE(global_bucket_step(s, 1, 10, false).admitted);
  const Decision d = global_bucket_step(s, 1, 10, false);
  EXPECT_TRUE(d.by_on_error);
  EXPECT_EQ(s.credit, 5);  // credit is trust in Redis' last word: not spent while it is gone
}

TEST(GlobalKeyedLimiter, KeysCountApartAndOnErrorDecidesBeforeRedisAnswers) {
  GlobalKeyedLimiter l(options(GlobalAlgorithm::token_bucket, 60, 3));
  const Decision first = l.admit(1, 0);
  EXPECT_FALSE(first.admitted);
  EXPECT_TRUE(first.by_on_error);
  EXPECT_EQ(l.on_error_total(), 1u);
  l.set_redis_ok(true);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.admit(1, 0).admitted) << i;
  EXPECT_FALSE(l.admit(1, 0).admitted);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.admit(2, 0).admitted) << "key 2 is full: " << i;
  EXPECT_EQ(l.keys(), 2u);
}

TEST(GlobalKeyedLimiter, BucketRoundDebitsCreditAndLeasesAPool) {
  GlobalKeyedLimiter l(options(GlobalAlgorithm::token_bucket, 100, 20));
  l.set_redis_ok(true);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(l.admit(7, 0).admitted);
  std::vector<GlobalKeySync> round;
  l.collect(0, round);
  ASSERT_EQ(round.size(), 1u);
  EXPECT_EQ(round[0].key, 7u);
  EXPECT_EQ(round[0].owed, 4u);
  EXPECT_EQ(round[0].want, 10u);        // in use: two intervals of the rate (2 x 5)
  ASSERT_TRUE(l.admit(7, 1).admitted);  // on credit while the round is out
  // Redis: 20 - 4 owed = 16, 10 granted, 6 left; the one spent since is not in that figure.
  l.answer(round[0], 10, 6, 2 * kMs);
  int admitted = 0;
  while (l.admit(7, 3 * kMs).admitted) ++admitted;
  EXPECT_EQ(admitted, 10 + 5);
  round.clear();
  l.collect(4 * kMs, round);
  ASSERT_EQ(round.size(), 1u);
  EXPECT_EQ(round[0].owed, 1u + 5u);
  l.unanswered(round[0], false, 5 * kMs);  // the round failed unsent: owed again next time
  round.clear();
  l.collect(6 * kMs, round);
  ASSERT_EQ(round.size(), 1u);
  EXPECT_EQ(round[0].owed, 6u);
  l.unanswered(round[0], true, 6 * kMs);  // sent, answer lost: Redis has it, owed no more
  round.clear();
  l.collect(6 * kMs, round);
  ASSERT_EQ(round.size(), 1u);
  EXPECT_EQ(round[0].owed, 0u);
  // Decided nothing since: read back (nothing owed, nothing leased) for a few rounds, then not.
  for (uint32_t i = 1; i <= GlobalKeyState::kRefreshRounds; ++i) {
    round.clear();
    l.collect((7 + i) * kMs, round);
    ASSERT_EQ(round.size(), 1u) << i;
    EXPECT_EQ(round[0].owed, 0u);
    EXPECT_EQ(round[0].want, 0u);
  }
  round.clear();
  l.collect(20 * kMs, round);
  EXPECT_TRUE(round.empty()) << "a key idle for kRefreshRounds rounds drops out";
}

// The burst of 5 that admitted 6: credit spent while a round was out, beyond what the bucket held
// after the grant, came out of that grant, so it is taken from the new pool and not owed again.
TEST(GlobalKeyedLimiter, CreditSpentWhileTheRoundIsOutComesOutOfTheGrant) {
  GlobalKeyedLimiter l(options(GlobalAlgorithm::token_bucket, 100, 5));
  l.set_redis_ok(true);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(l.admit(7, 0).admitted);  // a new key: on credit
  std::vector<GlobalKeySync> round;
  l.collect(0, round);
  ASSERT_EQ(round.size(), 1u);
  EXPECT_EQ(round[0].owed, 3u);
  ASSERT_TRUE(l.admit(7, 1).admitted);  // on credit (1 left) while the round is out
  // Redis: 5 - 3 owed = 2, both granted, 0 left. The one spent since has no token left but
  // the grant's.
  l.answer(round[0], 2, 0, 2 * kMs);
  EXPECT_EQ(l.pool(7, 2 * kMs), 1);
  ASSERT_TRUE(l.admit(7, 3 * kMs).admitted);
  EXPECT_FALSE(l.admit(7, 3 * kMs).admitted) << "5 admitted in all: the burst";
  round.clear();
  l.collect(4 * kMs, round);
  ASSERT_EQ(round.size(), 1u);
  EXPECT_EQ(round[0].owed, 0u) << "paid from the grant, not debited again";
}

TEST(GlobalKeyedLimiter, RedisKeysAreBoundedAndExpire) {
  GlobalKeyedLimiter bucket(options(GlobalAlgorithm::token_bucket, 10, 20));
  EXPECT_EQ(bucket.redis_key("sluice:rl:", 0xabcULL), "sluice:rl:t:0000000000000abc");
  EXPECT_EQ(bucket.redis_ttl_ms(), 4000u + 1000u);  // refill from -20 at 10/s, plus a second
  GlobalKeyedLimiter window(options(GlobalAlgorithm::fixed_window, 10));
  EXPECT_EQ(window.redis_ttl_ms(), 2000u + 1000u);
}

TEST(GlobalKeyedLimiter, HandOverKeepsEveryKeysViewAndForwardsTheOldObject) {
  auto old = std::make_shared<GlobalKeyedLimiter>(options(GlobalAlgorithm::token_bucket, 60, 5));
  old->set_redis_ok(true);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(old->admit(1, 0).admitted);
  std::vector<GlobalKeySync> round;
  old->collect(0, round);
  ASSERT_EQ(round.size(), 1u);
  auto next = old->hand_over(options(GlobalAlgorithm::token_bucket, 120, 5), kMs);
  EXPECT_TRUE(next->redis_ok());
  // The answer of the round sent before the reload reaches the key's view in its new home.
  old->answer(round[0], 0, 0, 2 * kMs);
  EXPECT_FALSE(next->admit(1, 3 * kMs).admitted) << "the reload refilled the key's bucket";
  EXPECT_FALSE(old->admit(1, 3 * kMs).admitted) << "a worker on the old snapshot";
  EXPECT_TRUE(old->admit(2, 3 * kMs).admitted);  // decided by the successor: counted there
  EXPECT_EQ(next->keys(), 2u);
}

// Three instances share a fixed window of 20/s per key through a Redis played by a map, each
// syncing every 50 ms (rounds answered at once). Every instance sees 2x the limit of a key:
// per window the key admits its limit, plus at most what the other instances admit in one sync
// interval before they hear of it.
TEST(GlobalKeyedLimiter, ThreeInstancesHoldAWindowLimitWithinTheSyncBound) {
  std::vector<std::unique_ptr<GlobalKeyedLimiter>> instances;
  for (int i = 0; i < 3; ++i) {
    instances.push_back(
        std::make_unique<GlobalKeyedLimiter>(options(GlobalAlgorithm::fixed_window, 20)));
    instances.back()->set_redis_ok(true);
  }
  std::map<std::pair<uint64_t, uint64_t>, int64_t> redis;  // (key, window) -> count
  std::map<uint64_t, int> admitted_per_window;
  const Nanos step = kSec / 40;  // 40 requests/s per key in all, round robin over the instances
  int turn = 0;
  for (Nanos now = 0; now < 10 * kSec; now += step) {
    for (uint64_t key = 1; key <= 4; ++key) {
      if (instances[turn % 3]->admit(key, now).admitted && key == 1)
        ++admitted_per_window[static_cast<uint64_t>(now / kSec)];
      ++turn;
    }
    if (now % (50 * kMs) == 0) {
      for (auto& l : instances) {
        std::vector<GlobalKeySync> round;
        l->collect(now, round);
        for (const GlobalKeySync& k : round) {
          const int64_t cur = redis[{k.key, k.window}] += k.admitted;
          const int64_t prev = redis[{k.key, k.window - 1}] += k.admitted_prev;
          l->answer(k, cur, prev, now);
        }
      }
    }
  }
  ASSERT_EQ(admitted_per_window.size(), 10u);
  for (const auto& [window, admitted] : admitted_per_window) {
    EXPECT_GE(admitted, 20) << window;
    // Each instance sees 40/3 per second: 0.67 in one interval, one request each at most.
    EXPECT_LE(admitted, 22) << window;
  }
}

}  // namespace
}  // namespace sluice::limiter
