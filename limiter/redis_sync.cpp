#include "limiter/redis_sync.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace sluice::limiter {
namespace {

// Token bucket with fractional tokens, refilled from the elapsed time, granting
// min(requested, whole tokens available). Atomic: Redis runs a script without interleaving.
// KEYS[1]: bucket hash. ARGV: tokens per microsecond, burst, requested, now in us,
// ttl in ms. An empty `now` means Redis' own clock. Numbers are stored with string.format: tostring
// would round them to 14 digits.
constexpr const char* kLeaseScript = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(s[1])
local ts = tonumber(s[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local grant = math.min(want, math.floor(tokens))
if grant < 0 then grant = 0 end
tokens = tokens - grant
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.0f', ts))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return grant
)lua";

timeval to_timeval(std::chrono::nanoseconds d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

}  // namespace

RedisSync::RedisSync(RedisSyncOptions options) : options_(std::move(options)) {}

RedisSync::~RedisSync() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

void RedisSync::add(std::shared_ptr<GlobalLimiter> limiter) {
  limiters_.push_back(std::move(limiter));
}

void RedisSync::remove(const GlobalLimiter* limiter) {
  std::erase_if(limiters_, [&](const auto& l) { return l.get() == limiter; });
}

bool RedisSync::connect(Nanos now) {
  if (ctx_ != nullptr) return true;
  if (now < next_attempt_) return false;
  ctx_ = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                 to_timeval(options_.connect_timeout));
  if (ctx_ == nullptr || ctx_->err != 0) {
    fail(now);
    return false;
  }
  const timeval tv = to_timeval(options_.command_timeout);
  redisSetTimeout(ctx_, tv);
  ++stats_.connects;
  stats_.connected = true;
  return true;
}

void RedisSync::fail(Nanos now) {
  ++stats_.errors;
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
  stats_.connected = false;
  backoff_ = backoff_ == 0 ? options_.backoff_min.count()
                           : std::min<Nanos>(2 * backoff_, options_.backoff_max.count());
  next_attempt_ = now + backoff_;
  for (auto& l : limiters_) l->set_redis_ok(false);
}

void RedisSync::tick(Nanos now) {
  if (!connect(now)) return;

  struct Pending {
    GlobalLimiter* limiter;
  };
  std::vector<Pending> pending;
  const std::string now_us = options_.server_time ? "" : std::to_string(now / 1000);
  for (auto& l : limiters_) {
    const uint64_t want = l->lease_request(now);
    if (want == 0) continue;
    const GlobalLimitOptions& o = l->options();
    const uint64_t burst = o.burst == 0 ? o.count : o.burst;
    const double per_us = static_cast<double>(std::max<int64_t>(o.per.count(), 1)) / 1000.0;
    const double rate_per_us = static_cast<double>(o.count) / per_us;
    // The bucket is full again after burst/rate; forgetting it then changes nothing.
    const uint64_t ttl_ms =
        static_cast<uint64_t>(static_cast<double>(burst) / rate_per_us / 1000.0) + 1000;
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.17g", rate_per_us);
    const std::string key = options_.key_prefix + o.name;
    const std::string args[] = {
        "EVAL", kLeaseScript,          "1", key, rate, std::to_string(burst), std::to_string(want),
        now_us, std::to_string(ttl_ms)};
    const char* argv[9];
    size_t argvlen[9];
    for (int i = 0; i < 9; ++i) {
      argv[i] = args[i].data();
      argvlen[i] = args[i].size();
    }
    if (redisAppendCommandArgv(ctx_, 9, argv, argvlen) != REDIS_OK) {
      fail(now);
      return;
    }
    pending.push_back({l.get()});
  }
  if (pending.empty()) {
    for (auto& l : limiters_) l->set_redis_ok(true);  // connected; nothing needed this round
    return;
  }

  bool ok = true;
  for (const Pending& p : pending) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      ok = false;
      break;
    }
    auto* reply = static_cast<redisReply*>(raw);
    if (reply->type == REDIS_REPLY_INTEGER) {
      p.limiter->add_lease(static_cast<uint64_t>(std::max<long long>(reply->integer, 0)));
      p.limiter->set_redis_ok(true);
    } else {
      ++stats_.errors;  // script error: the connection is fine, this limiter is not
      p.limiter->set_redis_ok(false);
    }
    freeReplyObject(reply);
    ++stats_.commands;
  }
  if (!ok) {
    fail(now);
    return;
  }
  ++stats_.round_trips;
  backoff_ = 0;
  for (auto& l : limiters_) {
    // Limiters that skipped this round are healthy too: the connection just worked.
    bool asked = std::any_of(pending.begin(), pending.end(),
                             [&](const Pending& p) { return p.limiter == l.get(); });
    if (!asked) l->set_redis_ok(true);
  }
}

}  // namespace sluice::limiter
