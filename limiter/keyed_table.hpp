// A fixed-capacity map from an opaque 64-bit key hash to one 64-bit limiter state word
// (a GCRA TAT or a packed sliding window), with bounded memory: every slot is allocated in the
// constructor and nothing is allocated afterwards, however many distinct keys arrive.
//
// Layout: set-associative, 8 ways per set, one set per 256-byte aligned block (four cache lines,
// no false sharing between sets). A key maps to one set; a miss takes an empty way, else a way
// idle longer than `idle_ttl`, else the least recently seen way (its key then starts afresh).
//
// Thread safety: any thread may call with_state / with_live_state / size / evictions
// concurrently. Each set has a one-word spin lock held for the few dozen instructions of a lookup
// plus decision; two workers contend only when their keys fall in the same set (1 in capacity/8
// for unrelated keys). hand_over is for the one control thread (see there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>

#include "limiter/decision.hpp"
#include "limiter/spin_lock.hpp"

namespace sluice::limiter {

class KeyedTable {
 public:
  static constexpr size_t kWays = 8;

  // `capacity` is rounded up to a power-of-two number of sets; idle_ttl <= 0 disables TTL
  // eviction (then only LRU-within-set evicts).
  KeyedTable(size_t capacity, Nanos idle_ttl);

  // Runs f(state&) under the key's set lock and returns its result. A key not present starts
  // with state 0. f must be short and must not call back into the table.
  template <class F>
  auto with_state(uint64_t key, Nanos now, F&& f) {
    Set& set = sets_[set_index(key)];
    std::lock_guard<SpinLock> guard(set.lock);
    return f(set.state[find_or_claim(set, key, now)]);
  }

  // Like with_state, but once the key's set has been handed over (hand_over) f is not called and
  // the answer is false: the key's state lives in the other table now.
  template <class F>
  bool with_live_state(uint64_t key, Nanos now, F&& f) {
    Set& set = sets_[set_index(key)];
    std::lock_guard<SpinLock> guard(set.lock);
    if (set.handed_over) return false;
    f(set.state[find_or_claim(set, key, now)]);
    return true;
  }

  // Control thread: moves every live key into `to` (a table no worker uses yet), one set at a
  // time under that set's lock, and marks the set handed over, so that a with_live_state racing
  // with the move either runs before it (and the move takes its result along) or sees the mark.
  // convert(state&, last_seen&) adapts an entry to `to`'s limiter or returns false to drop it
  // (nothing worth keeping: a fresh state). Entries idle past this table's TTL are dropped
  // unasked. O(capacity); allocates nothing. Locks a set of `to` while holding one of this
  // table's: nobody may ever lock them in the other order.
  template <class Convert>
  void hand_over(KeyedTable& to, Nanos now, Convert&& convert) {
    for (size_t i = 0; i < num_sets_; ++i) {
      Set& set = sets_[i];
      std::lock_guard<SpinLock> guard(set.lock);
      for (size_t w = 0; w < kWays; ++w) {
        Nanos seen = set.last_seen[w];
        if (seen == kEmpty || (idle_ttl_ > 0 && now - seen >= idle_ttl_)) continue;
        uint64_t state = set.state[w];
        if (convert(state, seen)) to.import(set.key[w], seen, state);
      }
      set.handed_over = true;
    }
  }

  size_t capacity() const noexcept { return num_sets_ * kWays; }
  Nanos idle_ttl() const noexcept { return idle_ttl_; }
  // Bytes allocated by the table; constant for its whole life.
  size_t memory_bytes() const noexcept { return num_sets_ * sizeof(Set); }
  // Keys currently held (O(capacity) scan; for metrics and tests).
  size_t size() const;
  // Live keys pushed out by newer ones before their idle TTL passed (the table is too small).
  uint64_t evictions() const;

 private:
  static constexpr Nanos kEmpty = std::numeric_limits<Nanos>::min();

  struct alignas(64) Set {
    SpinLock lock;
    bool handed_over = false;  // its keys moved to another table (hand_over)
    uint32_t evictions = 0;
    uint64_t key[kWays];
    Nanos last_seen[kWays];
    uint64_t state[kWays];
  };

  size_t set_index(uint64_t key) const noexcept {
    // The proxy's hashes may be weak in the low bits; a multiplicative mix spreads them.
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> set_shift_);
  }
  size_t find_or_claim(Set& set, uint64_t key, Nanos now) noexcept;
  // Stores an entry taken from another table, evicting the set's least recently seen key when
  // it is full (a smaller table: counted as an eviction, that key restarts fresh).
  void import(uint64_t key, Nanos last_seen, uint64_t state) noexcept;

  size_t num_sets_;
  int set_shift_;
  Nanos idle_ttl_;
  std::unique_ptr<Set[]> sets_;
};

}  // namespace sluice::limiter
