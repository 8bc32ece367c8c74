// GlobalKeyedLimiter through RedisSync against a real redis-server: per-key buckets debited and
// leased by the script, window counters shared by three instances, and every key Redis holds
// bounded in length and expiring. Fake time (server_time = false), ticks driven like the control
// loop does (redis_sync_driver.hpp).
#include <hiredis/hiredis.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "limiter/global_keyed_limiter.hpp"
#include "limiter/redis_sync.hpp"
#include "redis_server.hpp"
#include "redis_sync_driver.hpp"

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kMs = 1'000'000;
constexpr Nanos kSec = 1'000 * kMs;

RedisSyncOptions sync_options(int port) {
  RedisSyncOptions o;
  o.port = port;
  o.server_time = false;
  return o;
}

GlobalLimitOptions limit(const std::string& name, GlobalAlgorithm algorithm, uint64_t count,
                         std::chrono::nanoseconds per, uint64_t burst = 0) {
  GlobalLimitOptions o;
  o.name = name;
  o.count = count;
  o.per = per;
  o.burst = burst;
  o.on_error = OnError::deny;
  o.sync_interval = 50ms;
  o.algorithm = algorithm;
  o.max_keys = 1024;
  return o;
}

struct Instance {
  std::unique_ptr<RedisSync> sync;
  std::shared_ptr<GlobalKeyedLimiter> limiter;
};

Instance instance(int port, const GlobalLimitOptions& o) {
  Instance in{std::make_unique<RedisSync>(sync_options(port)),
              std::make_shared<GlobalKeyedLimiter>(o)};
  in.sync->add(in.limiter);
  return in;
}

// Redis' keys matching `pattern` with their remaining life in ms.
std::map<std::string, long long> keys_with_ttl(int port, const std::string& pattern) {
  std::map<std::string, long long> out;
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == nullptr || c->err != 0) return out;
  auto* keys = static_cast<redisReply*>(redisCommand(c, "KEYS %s", pattern.c_str()));
  for (size_t i = 0; keys != nullptr && i < keys->elements; ++i) {
    const std::string name(keys->element[i]->str, keys->element[i]->len);
    auto* ttl = static_cast<redisReply*>(redisCommand(c, "PTTL %s", name.c_str()));
    out[name] = ttl != nullptr ? ttl->integer : -3;
    freeReplyObject(ttl);
  }
  freeReplyObject(keys);
  redisFree(c);
  return out;
}

TEST(GlobalKeyedRedis, BucketsArePerKeyAndCreditIsDebitedInRedis) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  // 1/min: nothing refills during the test; each key has its burst of 10.
  const GlobalLimitOptions o = limit("perkey", GlobalAlgorithm::token_bucket, 1, 60s, 10);
  Instance a = instance(redis.port(), o);
  Instance b = instance(redis.port(), o);
  ASSERT_TRUE(testing::tick_and_await(*a.sync, 0));
  ASSERT_TRUE(testing::tick_and_await(*b.sync, 0));
  ASSERT_TRUE(a.limiter->redis_ok());
  // Idle instance, new key: the whole burst at once.
  int admitted = 0;
  for (int i = 0; i < 12; ++i) admitted += a.limiter->admit(1, kMs).admitted;
  EXPECT_EQ(admitted, 10);
  ASSERT_TRUE(testing::tick_and_await(*a.sync, 50 * kMs));  // debits 10 from key 1's bucket
  // Instance b has not seen key 1: it trusts a full bucket once, the round corrects it.
  EXPECT_TRUE(b.limiter->admit(1, 60 * kMs).admitted);
  ASSERT_TRUE(testing::tick_and_await(*b.sync, 100 * kMs));
  EXPECT_FALSE(b.limiter->admit(1, 110 * kMs).admitted);
  EXPECT_FALSE(a.limiter->admit(1, 110 * kMs).admitted);
  // Key 2 has a bucket of its own.
  admitted = 0;
  for (int i = 0; i < 12; ++i) admitted += b.limiter->admit(2, 120 * kMs).admitted;
  EXPECT_EQ(admitted, 10);
  ASSERT_TRUE(testing::tick_and_await(*b.sync, 150 * kMs));
  const auto keys = keys_with_ttl(redis.port(), "sluice:rl:perkey:*");
  ASSERT_EQ(keys.size(), 2u);
  for (const auto& [name, ttl] : keys) {
    EXPECT_EQ(name.size(), std::string("sluice:rl:perkey:").size() + 16) << name;
    EXPECT_GT(ttl, 0) << name;
    EXPECT_LE(ttl, 2 * 600'000 + 1000) << name;  // refill from -burst, plus a second
  }
}

// Three instances, a fixed window of 20/s per key, each seeing a third of 40 requests/s for
// each of three keys, syncing every 50 ms: each key admits 20 per window, plus at most what
// the others admit in one sync interval (under one request each here).
TEST(GlobalKeyedRedis, ThreeInstancesShareWindowCountsPerKey) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  const GlobalLimitOptions o = limit("win", GlobalAlgorithm::fixed_window, 20, 1s);
  std::vector<Instance> instances;
  for (int i = 0; i < 3; ++i) instances.push_back(instance(redis.port(), o));
  for (auto& in : instances) ASSERT_TRUE(testing::tick_and_await(*in.sync, 0));
  std::map<std::pair<uint64_t, Nanos>, int> admitted;  // (key, window) -> admitted
  int turn = 0;
  const Nanos step = kSec / 40;
  for (Nanos now = 10 * kSec; now < 16 * kSec; now += step) {
    for (uint64_t key = 1; key <= 3; ++key) {
      auto& in = instances[turn++ % 3];
      if (in.limiter->admit(key, now).admitted) ++admitted[{key, now / kSec}];
    }
    if (now % (50 * kMs) == 0) {
      for (auto& in : instances) ASSERT_TRUE(testing::tick_and_await(*in.sync, now));
    }
  }
  ASSERT_EQ(admitted.size(), 3u * 6u);
  for (const auto& [at, n] : admitted) {
    EXPECT_GE(n, 20) << "key " << at.first << " window " << at.second;
    EXPECT_LE(n, 22) << "key " << at.first << " window " << at.second;
  }
  const auto keys = keys_with_ttl(redis.port(), "sluice:rl:win:*");
  EXPECT_FALSE(keys.empty());
  for (const auto& [name, ttl] : keys) {
    EXPECT_GT(ttl, 0) << name;
    EXPECT_LE(ttl, 3000) << name;  // two windows plus a second
  }
  EXPECT_GT(instances[0].sync->stats().keys_synced, 0u);
}

// A round that went out and was never answered counts as applied: Redis ran it (here once it
// resumes), so pushing its counts again would count them twice.
TEST(GlobalKeyedRedis, UnansweredRoundIsNotCountedTwice) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  const GlobalLimitOptions o = limit("again", GlobalAlgorithm::fixed_window, 100, 60s);
  Instance a = instance(redis.port(), o);
  ASSERT_TRUE(testing::tick_and_await(*a.sync, 0));
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(a.limiter->admit(5, kMs).admitted);
  redis.pause();
  a.sync->tick(50 * kMs);
  testing::await_round(*a.sync, 50 * kMs, 300ms);
  a.sync->tick(50 * kMs + 200 * kMs);  // past command_timeout: the round fails
  EXPECT_FALSE(a.limiter->redis_ok());
  redis.resume();
  Instance b = instance(redis.port(), o);
  ASSERT_TRUE(testing::tick_and_await(*b.sync, 0));
  for (Nanos t = 300 * kMs; t < 2 * kSec && !a.limiter->redis_ok(); t += 100 * kMs)
    testing::tick_and_await(*a.sync, t);
  ASSERT_TRUE(a.limiter->redis_ok());
  testing::tick_and_await(*a.sync, 2 * kSec);
  // Instance b, new to key 5, learns a's 7 from Redis after its first round.
  EXPECT_TRUE(b.limiter->admit(5, 2 * kSec).admitted);
  ASSERT_TRUE(testing::tick_and_await(*b.sync, 2 * kSec));
  int admitted = 0;
  while (admitted < 200 && b.limiter->admit(5, 2 * kSec).admitted) ++admitted;
  EXPECT_EQ(admitted, 100 - 8);  // a's 7 and b's first, once each
}

}  // namespace
}  // namespace sluice::limiter
