// What a rate limit shared by all sluice instances (`scope: global`) is configured with, and how
// much of its Redis token bucket an instance leases per key (GlobalKeyedLimiter, synced by
// RedisSync).
//
// Lease size, and so the precision: a worker cannot ask Redis, so a request finding its pool
// empty (and no credit, see global_keyed_limiter.hpp) is refused although the bucket may hold
// tokens. To admit the configured rate each round tops the pool up to two intervals of the rate
// (rate x sync_interval x 2: one interval of demand plus one of slack for a late or slow round)
// while the limit is in use, and to one interval while it is idle; the rate's share is capped at
// the burst, and the pool never exceeds two intervals of the rate, so one busy instance cannot
// drain the bucket for the others. Hence an instance in use whose demand stays at or below the
// rate is refused nothing while its rounds (timer lateness plus the Redis round trip) are less
// than half an interval late; the rate is reachable only when burst >= rate x sync_interval;
// and the tokens sitting in pools are slack: spent later than Redis granted them.
//
// Thread safety: plain values and a pure function.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sluice::limiter {

// What a global limit decides while Redis does not answer (or has not answered yet).
enum class OnError { allow, deny };

// The algorithms a global limit may count with (leaky-bucket shaping stays local: a queue that
// releases at the global rate would need every instance's queue in one place).
enum class GlobalAlgorithm { token_bucket, sliding_window, fixed_window };

struct GlobalLimitOptions {
  std::string name;      // stable name; Redis keys are prefix+name+":"+key hash[...]
  uint64_t count = 100;  // global tokens per `per`
  std::chrono::nanoseconds per = std::chrono::seconds(1);
  uint64_t burst = 0;  // 0 means count
  OnError on_error = OnError::allow;
  std::chrono::nanoseconds sync_interval = std::chrono::milliseconds(50);
  // How it counts, and the bound on the keys it holds on this instance.
  GlobalAlgorithm algorithm = GlobalAlgorithm::token_bucket;
  size_t max_keys = 100000;
  bool operator==(const GlobalLimitOptions&) const = default;
};

// Control thread: tokens to lease from Redis for a pool holding `have` after `demand` requests
// (spent, refused or decided by on_error) since the last lease, or 0 when the pool covers the
// coming interval. Two intervals of the rate while in use, one while idle, capped at the burst
// and topped up below three quarters (see the top of this file for the why).
uint64_t lease_size(uint64_t demand, int64_t have, const GlobalLimitOptions& options) noexcept;

}  // namespace sluice::limiter
