// A global token bucket on one key (`key: global`, key 0 of a GlobalKeyedLimiter) against a real
// redis-server started by the test: instances sharing it, Redis going away and coming back, and
// Redis' own clock. Time is a fake timeline passed to the Lua script (server_time = false,
// except where said), so 10 simulated seconds take milliseconds and the numbers are
// reproducible. Each tick is driven like the control loop does (redis_sync_driver.hpp): the round
// trip has settled when the simulated time moves on.
#include "limiter/global_keyed_limiter.hpp"
#include "limiter/redis_sync.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "redis_server.hpp"
#include "redis_sync_driver.hpp"

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kMs = 1'000'000;
constexpr uint64_t kGlobal = 0;  // the key of `key: global`

struct Instance {
  std::unique_ptr<RedisSync> sync;
  std::shared_ptr<GlobalKeyedLimiter> limiter;
  uint64_t admitted = 0;
};

RedisSyncOptions sync_options(int port) {
  RedisSyncOptions o;
  o.port = port;
  o.server_time = false;
  return o;
}

// Three instances, each offered `per_instance_rate` requests/s, sharing one global limit.
std::vector<Instance> run(int port, const GlobalLimitOptions& limit, int per_instance_rate,
                          Nanos duration) {
  std::vector<Instance> instances(3);
  for (auto& in : instances) {
    in.sync = std::make_unique<RedisSync>(sync_options(port));
    in.limiter = std::make_shared<GlobalKeyedLimiter>(limit);
    in.sync->add(in.limiter);
  }
  const Nanos interval = limit.sync_interval.count();
  const Nanos step = kNanosPerSecond / per_instance_rate;
  // Each instance's control thread ticks on its own phase, as separate processes would.
  std::vector<Nanos> next_tick = {0, interval / 3, 2 * interval / 3};
  for (Nanos t = 0; t < duration; t += std::min(step, kMs)) {
    for (size_t i = 0; i < instances.size(); ++i) {
      if (t >= next_tick[i]) {
        EXPECT_TRUE(testing::tick_and_await(*instances[i].sync, t));
        next_tick[i] += interval;
      }
    }
    if (t % step == 0) {
      for (auto& in : instances) in.admitted += in.limiter->admit(kGlobal, t).admitted;
    }
  }
  return instances;
}

TEST(GlobalBucketRedis, ThreeInstancesAdmitTheGlobalRateWithFewRoundTrips) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  GlobalLimitOptions limit{.name = "shared",
                           .count = 1000,
                           .per = 1s,
                           .burst = 100,
                           .on_error = OnError::deny,
                           .sync_interval = 50ms,
                           .max_keys = 8};
  // 3x overload: every instance alone would want the whole global rate.
  auto instances = run(redis.port(), limit, 1000, 10 * kNanosPerSecond);
  uint64_t admitted = 0, round_trips = 0, errors = 0;
  for (auto& in : instances) {
    admitted += in.admitted;
    round_trips += in.sync->stats().round_trips;
    errors += in.sync->stats().errors;
  }
  const double expected = 1000 * 10 + 100;
  std::printf(
      "global limit 1000/s, 3 instances at 3x overload, 10 s: admitted %llu "
      "(expected %.0f, %+.2f%%), per instance %llu/%llu/%llu, %.4f Redis round trips "
      "per admitted request\n",
      static_cast<unsigned long long>(admitted), expected,
      100.0 * (static_cast<double>(admitted) - expected) / expected,
      static_cast<unsigned long long>(instances[0].admitted),
      static_cast<unsigned long long>(instances[1].admitted),
      static_cast<unsigned long long>(instances[2].admitted),
      static_cast<double>(round_trips) / static_cast<double>(admitted));
  EXPECT_EQ(errors, 0u);
  EXPECT_NEAR(static_cast<double>(admitted), expected, expected * 0.05);
  EXPECT_LE(static_cast<double>(round_trips) / static_cast<double>(admitted), 0.1);
  for (auto& in : instances) EXPECT_GT(in.admitted, admitted / 5);  // nobody starves
}

TEST(GlobalBucketRedis, UnderloadAdmitsEverythingWithFewRoundTrips) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  GlobalLimitOptions limit{.name = "roomy",
                           .count = 3000,
                           .per = 1s,
                           .burst = 300,
                           .on_error = OnError::deny,
                           .sync_interval = 50ms,
                           .max_keys = 8};
  auto instances = run(redis.port(), limit, 500, 10 * kNanosPerSecond);  // half the rate
  uint64_t admitted = 0, round_trips = 0;
  for (auto& in : instances) {
    admitted += in.admitted;
    round_trips += in.sync->stats().round_trips;
  }
  std::printf(
      "global limit 3000/s, offered 1500/s: admitted %llu of 15000, %.4f round trips "
      "per admitted request\n",
      static_cast<unsigned long long>(admitted),
      static_cast<double>(round_trips) / static_cast<double>(admitted));
  EXPECT_GE(admitted,
            15000u * 99 / 100);  // refused: only what came before an instance's first round
  EXPECT_LE(static_cast<double>(round_trips) / static_cast<double>(admitted), 0.1);
}

TEST(GlobalBucketRedis, RedisDownAppliesOnErrorAndReconnectsWithBackoff) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSyncOptions so = sync_options(redis.port());
  so.backoff_min = 50ms;
  so.backoff_max = 200ms;
  RedisSync sync(so);
  auto allow = std::make_shared<GlobalKeyedLimiter>(GlobalLimitOptions{.name = "fail-open",
                                                                       .count = 100,
                                                                       .per = 1s,
                                                                       .burst = 10,
                                                                       .on_error = OnError::allow,
                                                                       .max_keys = 8});
  auto deny = std::make_shared<GlobalKeyedLimiter>(GlobalLimitOptions{.name = "fail-closed",
                                                                      .count = 100,
                                                                      .per = 1s,
                                                                      .burst = 10,
                                                                      .on_error = OnError::deny,
                                                                      .max_keys = 8});
  sync.add(allow);
  sync.add(deny);

  allow->admit(kGlobal, 0);  // a request each, so that the first round leases for the key
  deny->admit(kGlobal, 0);
  EXPECT_TRUE(testing::tick_and_await(sync, 0));
  ASSERT_TRUE(sync.stats().connected);
  ASSERT_GT(allow->pool(kGlobal, 0), 0);
  ASSERT_GT(deny->pool(kGlobal, 0), 0);

  redis.kill();
  // Leased tokens stay spendable while Redis is down.
  while (allow->admit(kGlobal, 1 * kMs).admitted && allow->pool(kGlobal, 1 * kMs) > 0) {
  }
  while (deny->admit(kGlobal, 1 * kMs).admitted) {
  }
  EXPECT_EQ(deny->pool(kGlobal, 1 * kMs), 0);

  const auto wall = std::chrono::steady_clock::now();
  EXPECT_TRUE(testing::tick_and_await(sync, 50 * kMs));       // the exchange fails
  EXPECT_LT(std::chrono::steady_clock::now() - wall, 500ms);  // never a stall
  EXPECT_EQ(sync.stats().errors, 1u);
  EXPECT_FALSE(sync.stats().connected);
  EXPECT_FALSE(allow->redis_ok());
  EXPECT_FALSE(deny->redis_ok());

  const uint64_t before = allow->on_error_total() + deny->on_error_total();
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(allow->admit(kGlobal, 60 * kMs).admitted);
    EXPECT_FALSE(deny->admit(kGlobal, 60 * kMs).admitted);
  }
  EXPECT_EQ(allow->on_error_total() + deny->on_error_total(), before + 20);

  // Exponential backoff: attempts at 100 ms (+50), 200 ms (+100), then 400 ms (+200, the cap).
  EXPECT_TRUE(testing::tick_and_await(sync, 99 * kMs));
  EXPECT_EQ(sync.stats().errors, 1u);  // still backing off: no attempt
  EXPECT_TRUE(testing::tick_and_await(sync, 100 * kMs));
  EXPECT_EQ(sync.stats().errors, 2u);
  EXPECT_TRUE(testing::tick_and_await(sync, 199 * kMs));
  EXPECT_EQ(sync.stats().errors, 2u);
  EXPECT_TRUE(testing::tick_and_await(sync, 200 * kMs));
  EXPECT_EQ(sync.stats().errors, 3u);
  EXPECT_TRUE(testing::tick_and_await(sync, 399 * kMs));
  EXPECT_EQ(sync.stats().errors, 3u);

  // A client still asking (on_error's) keeps the key in the rounds: its view would expire
  // otherwise (idle past the refill time), and a round carries only keys in use.
  EXPECT_FALSE(deny->admit(kGlobal, 399 * kMs).admitted);
  ASSERT_TRUE(redis.start());  // back on the same port
  EXPECT_TRUE(testing::tick_and_await(sync, 399 * kMs));
  EXPECT_FALSE(sync.stats().connected);  // waits out the backoff even though Redis is back
  EXPECT_TRUE(testing::tick_and_await(sync, 400 * kMs));
  EXPECT_TRUE(sync.stats().connected);
  EXPECT_EQ(sync.stats().errors, 3u);
  EXPECT_TRUE(allow->redis_ok());
  EXPECT_TRUE(deny->redis_ok());
  EXPECT_GT(deny->pool(kGlobal, 400 * kMs), 0);
  EXPECT_TRUE(deny->admit(kGlobal, 400 * kMs).admitted);
}

TEST(GlobalBucketRedis, ServerClockModeLeasesTokens) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSyncOptions so;
  so.port = redis.port();  // server_time = true: the production mode
  RedisSync sync(so);
  auto l = std::make_shared<GlobalKeyedLimiter>(GlobalLimitOptions{
      .name = "server-clock", .count = 1000, .per = 1s, .burst = 150, .max_keys = 8});
  sync.add(l);
  l->admit(kGlobal, 0);  // on_error's (allow); demand for the first round's lease
  const auto first = std::chrono::steady_clock::now();
  EXPECT_TRUE(testing::tick_and_await(sync, 0));
  ASSERT_EQ(l->pool(kGlobal, 0), 100);  // two intervals of the rate; 50 left in the bucket
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(l->admit(kGlobal, 0).admitted) << i;
  ASSERT_EQ(l->pool(kGlobal, 0), 0);  // the pool spent, the credit (50) untouched: nothing owed
  // The demand just seen (100 spent) wants two intervals' worth (100); the bucket holds what
  // the first lease left (50) plus what it refilled by the server's clock, which is real time
  // here (1 token a millisecond), whatever the fake times the rounds are given.
  EXPECT_TRUE(testing::tick_and_await(sync, 50 * kMs));
  const auto refill_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - first)
                             .count();
  EXPECT_GE(l->pool(kGlobal, 50 * kMs), 50);
  EXPECT_LE(l->pool(kGlobal, 50 * kMs), std::min<int64_t>(100, 50 + refill_ms + 1));
  EXPECT_EQ(sync.stats().errors, 0u);
}

}  // namespace
}  // namespace sluice::limiter
