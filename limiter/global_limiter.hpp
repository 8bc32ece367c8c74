// The worker side of a rate limit shared by all sluice instances (`scope: global`).
//
// Workers never talk to Redis: they spend tokens from a local, lock-free lease pool (one atomic
// word). The control thread's RedisSync leases batches of tokens from a token bucket kept in
// Redis (atomic Lua script) and tops the pool up every sync_interval. Tokens can only enter a
// pool after Redis granted them, so instances together never exceed the global rate.
//
// Pool size, and so the precision: a worker cannot ask Redis, so a request finding the pool
// empty is refused although the bucket may hold tokens. To admit the configured rate each
// round tops the pool up to two intervals of the rate (rate x sync_interval x 2: one interval
// of demand plus one of slack for a late or slow round) while the limit is in use, and to one
// interval while it is idle; the rate's share is capped at the burst, and the pool never
// exceeds two intervals of the rate, so one busy instance cannot drain the bucket for the
// others. Hence: an instance in use whose demand stays at or below the rate is refused nothing
// while its rounds (timer lateness plus the Redis round trip) are less than half an interval
// late; an idle instance admits at most one interval of the rate at once until its next round; the
// rate is reachable only when burst >= rate x sync_interval (else at most `burst` per
// interval); and the tokens sitting in pools — at most one interval of the rate per idle
// instance, two per busy one, never more than the burst — are the slack: spent later than
// Redis granted them, on top of burst + rate x time.
//
// Before the first exchange with Redis (start, or a limit new in this config) nothing is known
// to work and the pool is empty: `on_error` decides, as when Redis is unreachable — allow
// admits, deny refuses. Leased tokens are spent first; beyond them on_error decides whenever the
// last exchange failed.
//
// Thread safety: admit() from any worker. lease_request/add_lease/set_redis_ok/reconfigure are
// for the one control thread (RedisSync and StateStore call them); the stats getters from any
// thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "limiter/decision.hpp"
#include "limiter/global_limit_options.hpp"

namespace sluice::limiter {

class GlobalLimiter {
 public:
  explicit GlobalLimiter(const GlobalLimitOptions& options) { reconfigure(options); }

  // Worker: lock-free, never waits.
  Decision admit(Nanos now, uint32_t cost = 1) noexcept;

  // Control thread: tokens to ask Redis for now (0: the pool covers the expected demand).
  uint64_t lease_request(Nanos now) noexcept;
  // Control thread: Redis granted `tokens` (possibly 0) for the request made by lease_request.
  // Call before set_redis_ok(true) for the same reply.
  void add_lease(uint64_t tokens) noexcept;
  // Control thread: whether the last Redis exchange worked; when not, on_error applies. A
  // limiter Redis has not answered yet stays "not ok" (its pool is empty): the connection
  // working for the others (a round it joined too late for) gives it no tokens.
  void set_redis_ok(bool ok) noexcept {
    redis_ok_.store(ok && answered_, std::memory_order_relaxed);
  }
  // Control thread (reload): new rate, burst, on_error or sync interval for the same name. The
  // pool, the demand seen and the Redis bucket (keyed by name; the lease script clamps it to
  // the new burst) all carry over: a parameter change refills nothing.
  void reconfigure(const GlobalLimitOptions& options);

  bool redis_ok() const noexcept { return redis_ok_.load(std::memory_order_relaxed); }
  int64_t pool() const noexcept { return pool_.load(std::memory_order_relaxed); }
  uint64_t leased_total() const noexcept { return leased_.load(std::memory_order_relaxed); }
  uint64_t denied_total() const noexcept { return denied_.load(std::memory_order_relaxed); }
  // Decisions made by the on_error policy because Redis was down (or not reached yet) and the
  // pool empty.
  uint64_t on_error_total() const noexcept { return on_error_.load(std::memory_order_relaxed); }
  // Control thread only (reconfigure changes it).
  const GlobalLimitOptions& options() const { return options_; }

 private:
  GlobalLimitOptions options_;  // control thread; workers read the two atomics below
  std::atomic<bool> deny_on_error_{false};
  std::atomic<Nanos> retry_after_{0};  // the sync interval
  alignas(64) std::atomic<int64_t> pool_{0};
  alignas(64) std::atomic<uint64_t> denied_{0};
  std::atomic<uint64_t> on_error_{0};
  // False until an exchange worked: before the first one on_error decides (see above).
  std::atomic<bool> redis_ok_{false};
  // Control thread only.
  alignas(64) bool answered_ = false;  // Redis has answered a lease request (add_lease)
  int64_t pool_after_last_lease_ = 0;
  uint64_t denied_at_last_lease_ = 0;
  uint64_t on_error_at_last_lease_ = 0;
  std::atomic<uint64_t> leased_{0};
};

}  // namespace sluice::limiter
