// A global limit admits its configured rate (issue #13, item 5): the lease pool (lease_size)
// holds enough for a client below the rate, before the first exchange on_error decides, and a
// reload's new parameters keep the pool and the Redis bucket (item 4). One key (`key: global`,
// key 0 of a GlobalKeyedLimiter), real redis-server, fake time (server_time = false), ticks
// driven like the control loop does (redis_sync_driver.hpp).
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include <gtest/gtest.h>

#include "limiter/global_keyed_limiter.hpp"
#include "limiter/redis_sync.hpp"
#include "redis_server.hpp"
#include "redis_sync_driver.hpp"

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kMs = 1'000'000;
constexpr uint64_t kGlobal = 0;  // the key of `key: global`

RedisSyncOptions sync_options(int port) {
  RedisSyncOptions o;
  o.port = port;
  o.server_time = false;
  return o;
}

// The probe's limit: 1000/s, burst 200, a 50 ms sync interval. deny, so that any request the
// pool cannot cover shows as a refusal.
GlobalLimitOptions probe_limit(const std::string& name, OnError on_error = OnError::deny) {
  return {.name = name,
          .count = 1000,
          .per = 1s,
          .burst = 200,
          .on_error = on_error,
          .sync_interval = 50ms,
          .max_keys = 8};
}

TEST(GlobalLease, BeforeTheFirstExchangeOnErrorDecides) {
  GlobalKeyedLimiter allow(probe_limit("first-allow", OnError::allow));
  GlobalKeyedLimiter deny(probe_limit("first-deny", OnError::deny));
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(allow.admit(kGlobal, i * kMs).admitted) << i;
    const Decision d = deny.admit(kGlobal, i * kMs);
    EXPECT_FALSE(d.admitted) << i;
    EXPECT_EQ(d.retry_after, 50 * kMs);
  }
  EXPECT_EQ(allow.on_error_total(), 5u);
  EXPECT_EQ(deny.on_error_total(), 5u);
}

TEST(GlobalLease, FreshBucketAdmitsBackToBackAfterTheFirstRound) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSync sync(sync_options(redis.port()));
  auto l = std::make_shared<GlobalKeyedLimiter>(probe_limit("fresh"));
  sync.add(l);
  ASSERT_TRUE(testing::tick_and_await(sync, 0));
  ASSERT_TRUE(l->redis_ok());
  int admitted = 0;
  for (int i = 0; i < 20; ++i) admitted += l->admit(kGlobal, 0).admitted;
  EXPECT_EQ(admitted, 20);  // a key new here trusts a full bucket (200) at once
}

// The probe: one client sending 100-200 requests/s, one at a time, against 1000/s. The control
// loop's ticks come up to 25 ms late (a busy loop). Nothing may be refused.
TEST(GlobalLease, SequentialClientBelowTheRateIsNeverRefused) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSync sync(sync_options(redis.port()));
  auto l = std::make_shared<GlobalKeyedLimiter>(probe_limit("sequential"));
  sync.add(l);
  std::mt19937 rng(13);
  std::uniform_int_distribution<Nanos> gap(5 * kMs, 10 * kMs);
  std::uniform_int_distribution<Nanos> late(0, 25 * kMs);
  ASSERT_TRUE(testing::tick_and_await(sync, 0));
  Nanos next_tick = 50 * kMs + late(rng);
  int requests = 0, refused = 0;
  for (Nanos t = gap(rng); t < 20 * kNanosPerSecond; t += gap(rng)) {
    while (next_tick <= t) {
      ASSERT_TRUE(testing::tick_and_await(sync, next_tick));
      next_tick = (next_tick / (50 * kMs) + 1) * 50 * kMs + late(rng);
    }
    ++requests;
    refused += !l->admit(kGlobal, t).admitted;
  }
  std::printf("%d sequential requests at 100-200/s against 1000/s: %d refused, %llu round trips\n",
              requests, refused, static_cast<unsigned long long>(sync.stats().round_trips));
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(sync.stats().errors, 0u);
}

// At 95% of the rate, ticks up to a quarter interval late: still nothing refused once the limit
// is in use (an idle pool holds one interval of the rate, a used one two), and never more than
// the Redis bucket allows (burst + rate x time: what was not granted was debited).
TEST(GlobalLease, ClientNearTheRateIsNeverRefused) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSync sync(sync_options(redis.port()));
  auto l = std::make_shared<GlobalKeyedLimiter>(probe_limit("near-rate"));
  sync.add(l);
  std::mt19937 rng(14);
  std::uniform_int_distribution<Nanos> late(0, 12 * kMs);
  ASSERT_TRUE(testing::tick_and_await(sync, 0));
  int admitted = l->admit(kGlobal, 0).admitted, refused = 0;
  ASSERT_TRUE(testing::tick_and_await(sync, 1 * kMs));  // in use: two intervals' worth
  ASSERT_EQ(l->pool(kGlobal, 1 * kMs), 100);
  Nanos next_tick = 50 * kMs + late(rng);
  const Nanos step = kNanosPerSecond / 950;
  for (Nanos t = 2 * kMs; t < 10 * kNanosPerSecond; t += step) {
    while (next_tick <= t) {
      ASSERT_TRUE(testing::tick_and_await(sync, next_tick));
      next_tick = (next_tick / (50 * kMs) + 1) * 50 * kMs + late(rng);
    }
    (l->admit(kGlobal, t).admitted ? admitted : refused) += 1;
  }
  std::printf("950/s against 1000/s for 10 s: admitted %d, refused %d\n", admitted, refused);
  EXPECT_EQ(refused, 0);
  EXPECT_LE(admitted, 200 + 1000 * 10);
}

// A reload that lowers the burst: the Redis bucket keeps its tokens but never grants more than
// the new burst, even within the same microsecond (the script clamps before granting).
TEST(GlobalLease, ALowerBurstClampsTheRedisBucketAtOnce) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSync sync(sync_options(redis.port()));
  GlobalLimitOptions o = probe_limit("clamped");
  o.burst = 1000;
  auto l = std::make_shared<GlobalKeyedLimiter>(o);
  sync.add(l);
  l->admit(kGlobal, 0);                           // on_error's: demand for the first lease
  ASSERT_TRUE(testing::tick_and_await(sync, 0));  // the bucket: 1000 - 100
  ASSERT_EQ(l->pool(kGlobal, 0), 100);
  // A demand that wants a whole lease: the pool spent, the credit (900) untouched, nothing owed.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(l->admit(kGlobal, 0).admitted) << i;
  ASSERT_EQ(l->pool(kGlobal, 0), 0);
  o.burst = 10;
  auto next = l->hand_over(o, 0);  // what StateStore does on a reload
  sync.remove(l.get());
  sync.add(next);
  ASSERT_TRUE(testing::tick_and_await(sync, 0));
  EXPECT_EQ(next->pool(kGlobal, 0), 10);
}

// What StateStore does on a reload that changes rate/burst/on_error of a global limit: a limiter
// for the new options takes the key's view over (hand_over). Its leased tokens and its health
// stay; the new on_error applies at once.
TEST(GlobalLease, HandOverKeepsThePoolAndTheHealth) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSync sync(sync_options(redis.port()));
  GlobalLimitOptions o = probe_limit("reconfigured");
  o.burst = 100;  // all of it leased: nothing left to spend on credit
  auto l = std::make_shared<GlobalKeyedLimiter>(o);
  sync.add(l);
  l->admit(kGlobal, 0);  // on_error's: demand for the first lease
  ASSERT_TRUE(testing::tick_and_await(sync, 0));
  ASSERT_EQ(l->pool(kGlobal, 0), 100);
  o.count = 1100;
  o.on_error = OnError::allow;
  auto next = l->hand_over(o, 0);
  sync.remove(l.get());
  sync.add(next);
  EXPECT_EQ(next->pool(kGlobal, 0), 100);
  EXPECT_TRUE(next->redis_ok());
  while (next->admit(kGlobal, 0).admitted) {
  }
  EXPECT_EQ(next->on_error_total(), 0u);  // Redis works: an empty pool refuses, allow or not
  redis.kill();
  ASSERT_TRUE(testing::tick_and_await(sync, 50 * kMs));
  EXPECT_FALSE(next->redis_ok());
  EXPECT_TRUE(next->admit(kGlobal, 50 * kMs).admitted);  // the new on_error: allow
}

}  // namespace
}  // namespace sluice::limiter
