#include "limiter/global_keyed_script.hpp"

#include <algorithm>
#include <cstdio>

namespace sluice::limiter {
namespace {

// KEYS: per key, its counter for the window and for the window before. ARGV[1]: expiry in ms;
// then per key the counts admitted in those two windows on the asking instance. A window's
// counter is created by its first INCRBY and expires two windows later.
constexpr const char* kWindowScript = R"lua(
local ttl = ARGV[1]
local out = {}
local function add(key, n)
  if n > 0 then
    local total = redis.call('INCRBY', key, n)
    redis.call('PEXPIRE', key, ttl)
    return total
  end
  return tonumber(redis.call('GET', key) or 0)
end
for i = 1, #KEYS / 2 do
  out[2 * i - 1] = add(KEYS[2 * i - 1], tonumber(ARGV[2 * i]))
  out[2 * i] = add(KEYS[2 * i], tonumber(ARGV[2 * i + 1]))
end
return out
)lua";

// KEYS: per key its bucket hash. ARGV: tokens per microsecond, burst, expiry in ms, now in us
// ("" for Redis' clock); then per key the tokens spent on credit (debited whatever the bucket
// holds, down to -burst: the refill repays them) and the tokens wanted (granted up to the
// whole tokens left). Numbers are stored with string.format: tostring would round them.
constexpr const char* kBucketScript = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local ttl = ARGV[3]
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local out = {}
for i = 1, #KEYS do
  local owed = tonumber(ARGV[3 + 2 * i])
  local want = tonumber(ARGV[4 + 2 * i])
  local s = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(s[1])
  local ts = tonumber(s[2])
  if tokens == nil or ts == nil then
    tokens = burst
    ts = now
  end
  if now > ts then
    tokens = tokens + (now - ts) * rate
    ts = now
  end
  tokens = math.max(math.min(burst, tokens) - owed, -burst)
  local grant = math.max(math.min(want, math.floor(tokens)), 0)
  tokens = tokens - grant
  redis.call('HSET', KEYS[i], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.0f', ts))
  redis.call('PEXPIRE', KEYS[i], ttl)
  out[2 * i - 1] = grant
  out[2 * i] = math.floor(tokens)
end
return out
)lua";

}  // namespace

std::vector<std::string> global_keys_eval(const GlobalKeyedLimiter& limiter,
                                          const std::vector<GlobalKeySync>& keys, size_t begin,
                                          size_t end, const std::string& prefix,
                                          const std::string& now_us) {
  const size_t n = end - begin;
  const GlobalLimitOptions& o = limiter.options();
  std::vector<std::string> args;
  const bool windows = limiter.windows();
  args.reserve(5 + 4 * n);
  args.emplace_back("EVAL");
  args.emplace_back(windows ? kWindowScript : kBucketScript);
  args.push_back(std::to_string(windows ? 2 * n : n));
  for (size_t i = begin; i < end; ++i) {
    const std::string base = limiter.redis_key(prefix, keys[i].key);
    if (!windows) {
      args.push_back(base);
      continue;
    }
    args.push_back(base + ":" + std::to_string(keys[i].window));
    args.push_back(base + ":" + std::to_string(keys[i].window - 1));
  }
  if (windows) {
    args.push_back(std::to_string(limiter.redis_ttl_ms()));
    for (size_t i = begin; i < end; ++i) {
      args.push_back(std::to_string(keys[i].admitted));
      args.push_back(std::to_string(keys[i].admitted_prev));
    }
    return args;
  }
  const double per_us = static_cast<double>(std::max<int64_t>(o.per.count(), 1)) / 1000.0;
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.17g", static_cast<double>(o.count) / per_us);
  args.emplace_back(rate);
  args.push_back(std::to_string(o.burst == 0 ? o.count : o.burst));
  args.push_back(std::to_string(limiter.redis_ttl_ms()));
  args.push_back(now_us);
  for (size_t i = begin; i < end; ++i) {
    args.push_back(std::to_string(keys[i].owed));
    args.push_back(std::to_string(keys[i].want));
  }
  return args;
}

}  // namespace sluice::limiter
