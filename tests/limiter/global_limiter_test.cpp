// The Redis-backed global limit against a real redis-server started by the test. Time is a fake
// timeline passed to the Lua script (server_time = false), so 10 simulated seconds take
// milliseconds and the numbers are reproducible. Each tick is driven like the control loop does
// (redis_sync_driver.hpp): the round trip has settled when the simulated time moves on.
#include "limiter/global_limiter.hpp"
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

struct Instance {
  std::unique_ptr<RedisSync> sync;
  std::shared_ptr<GlobalLimiter> limiter;
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
    in.limiter = std::make_shared<GlobalLimiter>(limit);
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
      for (auto& in : instances) in.admitted += in.limiter->admit(t).admitted;
    }
  }
  return instances;
}

TEST(GlobalLimiter, ThreeInstancesAdmitTheGlobalRateWithFewRoundTrips) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  GlobalLimitOptions limit{.name = "shared",
                           .count = 1000,
                           .per = 1s,
                           .burst = 100,
                           .on_error = OnError::deny,
                           .sync_interval = 50ms};
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

TEST(GlobalLimiter, UnderloadAdmitsEverythingAndSkipsNeedlessSyncs) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  GlobalLimitOptions limit{.name = "roomy",
                           .count = 3000,
                           .per = 1s,
                           .burst = 300,
                           .on_error = OnError::deny,
                           .sync_interval = 50ms};
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
  EXPECT_GE(admitted, 15000u * 99 / 100);  // only requests before an instance's first lease wait
  EXPECT_LE(static_cast<double>(round_trips) / static_cast<double>(admitted), 0.1);
}

TEST(GlobalLimiter, RedisDownAppliesOnErrorAndReconnectsWithBackoff) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSyncOptions so = sync_options(redis.port());
  so.backoff_min = 50ms;
  so.backoff_max = 200ms;
  RedisSync sync(so);
  auto allow = std::make_shared<GlobalLimiter>(GlobalLimitOptions{
      .name = "fail-open", .count = 100, .per = 1s, .burst = 10, .on_error = OnError::allow});
  auto deny = std::make_shared<GlobalLimiter>(GlobalLimitOptions{
      .name = "fail-closed", .count = 100, .per = 1s, .burst = 10, .on_error = OnError::deny});
  sync.add(allow);
  sync.add(deny);

  EXPECT_TRUE(testing::tick_and_await(sync, 0));
  ASSERT_TRUE(sync.stats().connected);
  ASSERT_GT(allow->pool(), 0);
  ASSERT_GT(deny->pool(), 0);

  redis.kill();
  // Leased tokens stay spendable while Redis is down.
  while (allow->admit(1 * kMs).admitted && allow->pool() > 0) {
  }
  while (deny->admit(1 * kMs).admitted) {
  }
  EXPECT_EQ(deny->pool(), 0);

  const auto wall = std::chrono::steady_clock::now();
  EXPECT_TRUE(testing::tick_and_await(sync, 50 * kMs));       // the exchange fails
  EXPECT_LT(std::chrono::steady_clock::now() - wall, 500ms);  // never a stall
  EXPECT_EQ(sync.stats().errors, 1u);
  EXPECT_FALSE(sync.stats().connected);
  EXPECT_FALSE(allow->redis_ok());
  EXPECT_FALSE(deny->redis_ok());

  const uint64_t before = allow->on_error_total() + deny->on_error_total();
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(allow->admit(60 * kMs).admitted);
    EXPECT_FALSE(deny->admit(60 * kMs).admitted);
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

  ASSERT_TRUE(redis.start());  // back on the same port
  EXPECT_TRUE(testing::tick_and_await(sync, 399 * kMs));
  EXPECT_FALSE(sync.stats().connected);  // waits out the backoff even though Redis is back
  EXPECT_TRUE(testing::tick_and_await(sync, 400 * kMs));
  EXPECT_TRUE(sync.stats().connected);
  EXPECT_EQ(sync.stats().errors, 3u);
  EXPECT_TRUE(allow->redis_ok());
  EXPECT_TRUE(deny->redis_ok());
  EXPECT_GT(deny->pool(), 0);
  EXPECT_TRUE(deny->admit(400 * kMs).admitted);
}

TEST(GlobalLimiter, ServerClockModeLeasesTokens) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSyncOptions so;
  so.port = redis.port();  // server_time = true: the production mode
  RedisSync sync(so);
  auto l = std::make_shared<GlobalLimiter>(
      GlobalLimitOptions{.name = "server-clock", .count = 1000, .per = 1s, .burst = 100});
  sync.add(l);
  const auto first = std::chrono::steady_clock::now();
  EXPECT_TRUE(testing::tick_and_await(sync, 0));
  ASSERT_GT(l->pool(), 0);
  while (l->admit(0).admitted) {
  }
  ASSERT_EQ(l->denied_total(), 1u);
  // The demand just seen (50 spent + 1 denied) wants two intervals' worth (100); the bucket
  // holds what the first lease left (50) plus what it refilled by the server's clock, which is
  // real time here (1 token a millisecond), whatever the fake times the rounds are given.
  EXPECT_TRUE(testing::tick_and_await(sync, 50 * kMs));
  const auto refill_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - first)
                             .count();
  EXPECT_GE(l->pool(), 50);
  EXPECT_LE(l->pool(), std::min<int64_t>(100, 50 + refill_ms + 1));
  EXPECT_EQ(sync.stats().errors, 0u);
}

}  // namespace
}  // namespace sluice::limiter
