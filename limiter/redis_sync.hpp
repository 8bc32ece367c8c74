// The control-thread side of global rate limits: one hiredis connection that, every
// sync_interval, leases tokens for every registered GlobalLimiter from token buckets kept in
// Redis, all in one pipelined round trip (one EVAL of an atomic Lua script per limiter that
// needs tokens; limiters whose pool covers the coming interval are skipped).
//
// Failure handling: a failed connect or exchange marks every limiter `redis_ok = false` (their
// on_error policy applies once their pool is spent), increments errors(), drops the connection and
// retries after an exponential backoff (backoff_min doubling to backoff_max, reset on success).
// Workers never wait on any of this; tick() itself blocks the control thread at most
// connect_timeout + command_timeout.
//
// Thread safety: a RedisSync belongs to the one control thread: add/remove/tick/stats from there.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "limiter/decision.hpp"
#include "limiter/global_limiter.hpp"

struct redisContext;

namespace sluice::limiter {

struct RedisSyncOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string key_prefix = "sluice:rl:";
  std::chrono::nanoseconds connect_timeout = std::chrono::milliseconds(100);
  std::chrono::nanoseconds command_timeout = std::chrono::milliseconds(100);
  std::chrono::nanoseconds backoff_min = std::chrono::milliseconds(50);
  std::chrono::nanoseconds backoff_max = std::chrono::seconds(5);
  // true: the Lua script uses Redis' clock (TIME), so instances need no common clock — use this
  // in production. false: it uses the `now` passed to tick() (tests on a fake timeline).
  bool server_time = true;
};

struct RedisSyncStats {
  uint64_t round_trips = 0;  // pipelined exchanges that completed
  uint64_t commands = 0;     // lease scripts run
  uint64_t errors = 0;       // failed connects + failed exchanges
  uint64_t connects = 0;     // successful connects
  bool connected = false;
};

class RedisSync {
 public:
  explicit RedisSync(RedisSyncOptions options);
  ~RedisSync();
  RedisSync(const RedisSync&) = delete;
  RedisSync& operator=(const RedisSync&) = delete;

  void add(std::shared_ptr<GlobalLimiter> limiter);
  void remove(const GlobalLimiter* limiter);

  // One sync round. Call every sync_interval from the control thread's timer.
  void tick(Nanos now);

  const RedisSyncStats& stats() const { return stats_; }

 private:
  bool connect(Nanos now);
  void fail(Nanos now);

  RedisSyncOptions options_;
  std::vector<std::shared_ptr<GlobalLimiter>> limiters_;
  redisContext* ctx_ = nullptr;
  Nanos next_attempt_ = 0;
  Nanos backoff_ = 0;
  RedisSyncStats stats_;
};

}  // namespace sluice::limiter
