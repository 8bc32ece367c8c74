// The worker side of a rate limit shared by all sluice instances (`scope: global`).
//
// Workers never talk to Redis: they spend tokens from a local, lock-free lease pool (one atomic
// word). The control thread's RedisSync leases batches of tokens from a token bucket kept in
// Redis (atomic Lua script) and tops the pool up every sync_interval, sizing each lease to the
// demand it saw over the last interval. Tokens can only enter a pool after Redis granted them,
// so instances together never exceed the global rate; tokens still in a pool when demand drops
// are the only slack (about one interval of demand per instance).
//
// When Redis is unreachable the pool is still spent, and beyond it `on_error` decides: allow
// (fail open) or deny (fail closed).
//
// Thread safety: admit() from any worker. lease_request/add_lease/set_redis_ok are for the one
// control thread (RedisSync calls them); the stats getters from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "limiter/decision.hpp"

namespace sluice::limiter {

enum class OnError { allow, deny };

struct GlobalLimitOptions {
  std::string name;      // stable name; Redis key is prefix+name
  uint64_t count = 100;  // global tokens per `per`
  std::chrono::nanoseconds per = std::chrono::seconds(1);
  uint64_t burst = 0;  // 0 means count
  OnError on_error = OnError::allow;
  std::chrono::nanoseconds sync_interval = std::chrono::milliseconds(50);
  bool operator==(const GlobalLimitOptions&) const = default;
};

class GlobalLimiter {
 public:
  explicit GlobalLimiter(const GlobalLimitOptions& options) : options_(options) {}

  // Worker: lock-free, never waits.
  Decision admit(Nanos now, uint32_t cost = 1) noexcept;

  // Control thread: tokens to ask Redis for now (0: the pool covers the expected demand).
  uint64_t lease_request(Nanos now) noexcept;
  // Control thread: Redis granted `tokens` (possibly 0) for the request made by lease_request.
  void add_lease(uint64_t tokens) noexcept;
  // Control thread: whether the last Redis exchange worked; when not, on_error applies.
  void set_redis_ok(bool ok) noexcept { redis_ok_.store(ok, std::memory_order_relaxed); }

  bool redis_ok() const noexcept { return redis_ok_.load(std::memory_order_relaxed); }
  int64_t pool() const noexcept { return pool_.load(std::memory_order_relaxed); }
  uint64_t leased_total() const noexcept { return leased_.load(std::memory_order_relaxed); }
  uint64_t denied_total() const noexcept { return denied_.load(std::memory_order_relaxed); }
  // Decisions made by the on_error policy because Redis was down and the pool empty.
  uint64_t on_error_total() const noexcept { return on_error_.load(std::memory_order_relaxed); }
  const GlobalLimitOptions& options() const { return options_; }

 private:
  const GlobalLimitOptions options_;
  alignas(64) std::atomic<int64_t> pool_{0};
  alignas(64) std::atomic<uint64_t> denied_{0};
  std::atomic<uint64_t> on_error_{0};
  std::atomic<bool> redis_ok_{true};
  // Control thread only.
  alignas(64) int64_t pool_after_last_lease_ = 0;
  uint64_t denied_at_last_lease_ = 0;
  uint64_t on_error_at_last_lease_ = 0;
  std::atomic<uint64_t> leased_{0};
};

}  // namespace sluice::limiter
