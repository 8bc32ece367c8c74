// The worker side of a rate limit shared by all sluice instances (`scope: global`), per key
// (client IP, header value, route, combined keys; `key: global` is the one key 0).
//
// Workers never talk to Redis and never wait: each decides on its own view of the key, kept in a
// bounded KeyedTable (one small struct per key, per-set spin lock). The control thread's
// RedisSync, every sync_interval, sends Redis what each key touched since the last round did
// here and stores back what Redis answers:
//
// - Windows (sliding_window, fixed_window): Redis holds one counter per key and window
//   (INCRBY + PEXPIRE). A key's view is the count Redis last reported for the current and the
//   previous window plus what this instance admitted since it last pushed; a request is admitted
//   when that count (the sliding window weights the previous one by its overlap) stays within
//   the limit. Over-admission comes from what other instances admitted and this one has not heard
//   of yet: at most, per window and key, what the other instances admit in one sync lag (a round
//   interval plus its round trip) — instances x their rate x sync_interval.
// - Token bucket: Redis holds the bucket. Each instance spends first a pool of tokens Redis
//   granted it (leased per key, sized by lease_size in global_limit_options.hpp: two intervals of
//   the rate while in use), then "credit": the tokens Redis said the bucket still held after the
//   last grant, which it spends on trust and owes — the next round debits them whatever the bucket
//   holds (down to -burst, repaid by the refill). Under steady overload the bucket is empty after
//   each grant, so credit is 0 and instances never exceed the bucket beyond the pools' slack; an
//   idle key or instance sees the bucket full and can spend up to `burst` at once, as a local
//   limit.
//
// A key decided on this instance is synced in every round for kRefreshRounds rounds after its
// last decision (a read when nothing is pushed), so that its view stays fresh between
// requests; then it drops out of the rounds until it is decided again.
//
// A key this instance sees for the first time is decided by the local view — a window with no
// count, a full bucket — rather than refused: the first round then tells it the global truth.
// Hence a key new to N instances at once may get up to N times its allowance for one sync lag.
//
// Redis unreachable (or not reached yet): a bucket's pool is spent first, then `on_error`
// decides (allow: admit without a global count; deny: refuse); a window's decisions are all
// on_error's.
//
// Windows are aligned on multiples of their length in the time `now + clock_offset` (the proxy
// passes wall-clock minus monotonic time, so instances share window boundaries as far as their
// clocks agree).
//
// Thread safety: admit() from any worker. collect/answer/unanswered/set_redis_ok/
// set_clock_offset for the one control thread (RedisSync, StateStore); the getters any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "limiter/decision.hpp"
#include "limiter/global_limit_options.hpp"
#include "limiter/keyed_table.hpp"

namespace sluice::limiter {

// What a key's view holds on one instance. Zero is a key not seen yet.
struct GlobalKeyState {
  // Windows: the index of the current window and its counts; `prev` is the window before it.
  uint64_t window = 0;
  uint32_t seen_cur = 0;  // Redis' count, as last reported (ours that were pushed included)
  uint32_t seen_prev = 0;
  uint32_t local_cur = 0;  // admitted here, not reported by Redis yet
  uint32_t local_prev = 0;
  // Token bucket.
  int32_t pool = 0;     // granted by Redis, not spent yet
  int32_t credit = 0;   // what the bucket held beyond the pool at the last answer, less spending
  uint32_t spent = 0;   // admitted since the last round (pool or credit)
  uint32_t owed = 0;    // admitted on credit, not debited in Redis yet
  uint32_t denied = 0;  // refused since the last round (counts as demand)
  uint32_t flags = 0;   // kTouched, kSeeded; rounds left to refresh (from kRefreshShift)
  static constexpr uint32_t kTouched = 1;  // decided since the last round: take part in the next
  static constexpr uint32_t kSeeded = 2;   // bucket: credit was set (a new key: the burst)
  // A key decided recently is read back in the next kRefreshRounds rounds even when this
  // instance decides nothing for it meanwhile: a key an instance sees every few rounds would
  // otherwise decide on counts as old as its last request, missing what the others admitted.
  static constexpr uint32_t kRefreshShift = 8;
  static constexpr uint32_t kRefreshRounds = 8;
  static constexpr uint32_t kFlagBits = (1u << kRefreshShift) - 1;
};

// One key's part of a round: what is pushed to Redis. Control thread only.
struct GlobalKeySync {
  uint64_t key = 0;
  uint64_t window = 0;         // windows: the window `admitted` counts belong to
  uint32_t admitted = 0;       // windows: admitted here in `window`, not pushed yet
  uint32_t admitted_prev = 0;  // windows: the same for window - 1
  uint32_t owed = 0;           // bucket: spent on credit, to debit
  uint64_t want = 0;           // bucket: tokens to lease
};

// The pure decisions, for tests on a fake timeline. `t` is the time windows align on.
Decision global_window_step(GlobalKeyState& s, Nanos t, uint32_t cost, uint64_t limit, Nanos window,
                            bool sliding) noexcept;
Decision global_bucket_step(GlobalKeyState& s, uint32_t cost, uint64_t burst,
                            bool redis_ok) noexcept;

class GlobalKeyedLimiter {
 public:
  explicit GlobalKeyedLimiter(const GlobalLimitOptions& options);

  // Worker: a short critical section on the key's set; never waits on Redis.
  Decision admit(uint64_t key, Nanos now, uint32_t cost = 1) noexcept;

  // Reload with new parameters (control thread, before the new snapshot is published): a
  // limiter for `options` holding every key's view (a bucket keeps its pool, debt and credit up
  // to the new burst; a window its counts while its length stays), to which this one forwards
  // later decisions and answers, as KeyedRateLimiter::hand_over does. The Redis keys stay.
  std::shared_ptr<GlobalKeyedLimiter> hand_over(const GlobalLimitOptions& options, Nanos now);

  // Control thread: appends every key decided since the last round, with what to push.
  void collect(Nanos now, std::vector<GlobalKeySync>& out);
  // Control thread: Redis' answer for `sync`. Windows: the counts of its window and the one
  // before; bucket: tokens granted and tokens left in the bucket after the grant.
  void answer(const GlobalKeySync& sync, int64_t first, int64_t second, Nanos now) noexcept;
  // Control thread: the round carrying `sync` failed. `sent`: its commands had all been written,
  // so Redis most likely ran them (a late answer, a connection lost after): what it pushed is
  // taken as counted there — pushing it again would count it twice and, worse than the
  // tokens Redis granted and nobody got, refuse clients for it. Not sent: pushed again next
  // round. Either way the key is read back next round.
  void unanswered(const GlobalKeySync& sync, bool sent, Nanos now) noexcept;

  void set_redis_ok(bool ok) noexcept { redis_ok_.store(ok, std::memory_order_relaxed); }
  // Control thread: added to `now` to find windows (wall clock minus the caller's clock).
  void set_clock_offset(Nanos offset) noexcept {
    clock_offset_.store(offset, std::memory_order_relaxed);
  }

  // The Redis key of `key` (windows append ":" and the window index). Bounded length whatever
  // the client sent: the key is a hash.
  std::string redis_key(const std::string& prefix, uint64_t key) const;
  // The Redis expiry of a key: two windows (a window is read as `prev` during the next), or the
  // time a bucket takes to refill from -burst; plus a second.
  uint64_t redis_ttl_ms() const noexcept;
  bool windows() const noexcept { return options_.algorithm != GlobalAlgorithm::token_bucket; }

  bool redis_ok() const noexcept { return redis_ok_.load(std::memory_order_relaxed); }
  // Tokens Redis granted `key` here and nobody spent yet (0 for a key not held): what a round
  // brought, for tests. Takes the key's set lock.
  int64_t pool(uint64_t key, Nanos now);
  uint64_t on_error_total() const noexcept { return on_error_.load(std::memory_order_relaxed); }
  size_t keys() const { return table_.size(); }
  uint64_t evictions() const { return table_.evictions(); }
  const GlobalLimitOptions& options() const { return options_; }

 private:
  GlobalLimitOptions options_;
  uint64_t burst_;  // token bucket depth (0 in the options: the count)
  Nanos window_;    // windows: `per`
  Nanos retry_after_;
  BasicKeyedTable<GlobalKeyState> table_;
  std::atomic<bool> redis_ok_{false};
  std::atomic<Nanos> clock_offset_{0};
  // Set once by hand_over before any set is marked (see KeyedRateLimiter::successor_).
  std::shared_ptr<GlobalKeyedLimiter> successor_;
  alignas(64) std::atomic<uint64_t> on_error_{0};
};

}  // namespace sluice::limiter
