// A fixed-capacity map from an opaque 64-bit key hash to one limiter state (`KeyedTable`: one
// 64-bit word, a GCRA TAT or a packed window; a global limit keeps a small struct per key), with
// bounded memory: every slot is allocated in the
// constructor and nothing is allocated afterwards, however many distinct keys arrive.
//
// Layout: set-associative, 8 ways per set, one set per 256-byte aligned block (four cache lines,
// no false sharing between sets). A key maps to one set; a miss takes an empty way, else a way
// idle longer than `idle_ttl`, else the least recently seen way (its key then starts afresh).
//
// Thread safety: any thread may call with_state / with_live_state / with_existing / visit / size /
// evictions concurrently. Each set has a one-word spin lock held for the few dozen instructions of
// a lookup plus decision; two workers contend only when their keys fall in the same set (1 in
// capacity/8 for unrelated keys). hand_over is for the one control thread (see there).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>

#include "limiter/decision.hpp"
#include "limiter/spin_lock.hpp"

namespace sluice::limiter {

// State: trivially copyable; a value-initialised State is what a key not seen yet starts with.
template <class State>
class BasicKeyedTable {
 public:
  static constexpr size_t kWays = 8;

  // `capacity` is rounded up to a power-of-two number of sets; idle_ttl <= 0 disables TTL
  // eviction (then only LRU-within-set evicts).
  BasicKeyedTable(size_t capacity, Nanos idle_ttl);

  // Runs f(state&) under the key's set lock and returns its result. A key not present starts
  // with State{}. f must be short and must not call back into the table.
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
  void hand_over(BasicKeyedTable& to, Nanos now, Convert&& convert) {
    for (size_t i = 0; i < num_sets_; ++i) {
      Set& set = sets_[i];
      std::lock_guard<SpinLock> guard(set.lock);
      for (size_t w = 0; w < kWays; ++w) {
        Nanos seen = set.last_seen[w];
        if (seen == kEmpty || (idle_ttl_ > 0 && now - seen >= idle_ttl_)) continue;
        State state = set.state[w];
        if (convert(state, seen)) to.import(set.key[w], seen, state);
      }
      set.handed_over = true;
    }
  }

  // Runs f(state&) under the key's set lock only when the key is held (and not idle past its
  // TTL): true when it ran. For answers that must not bring back a key the table let go.
  template <class F>
  bool with_existing(uint64_t key, Nanos now, F&& f) {
    Set& set = sets_[set_index(key)];
    std::lock_guard<SpinLock> guard(set.lock);
    for (size_t w = 0; w < kWays; ++w) {
      if (set.last_seen[w] == kEmpty || set.key[w] != key) continue;
      if (idle_ttl_ > 0 && now - set.last_seen[w] >= idle_ttl_) return false;
      f(set.state[w]);
      return true;
    }
    return false;
  }

  // Runs f(key, state&) for every key held and not idle past its TTL, one set at a time under
  // its lock (O(capacity)). f must be short and must not call back into the table.
  template <class F>
  void visit(Nanos now, F&& f) {
    for (size_t i = 0; i < num_sets_; ++i) {
      Set& set = sets_[i];
      std::lock_guard<SpinLock> guard(set.lock);
      for (size_t w = 0; w < kWays; ++w) {
        if (set.last_seen[w] == kEmpty) continue;
        if (idle_ttl_ > 0 && now - set.last_seen[w] >= idle_ttl_) continue;
        f(set.key[w], set.state[w]);
      }
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
    State state[kWays];
  };

  size_t set_index(uint64_t key) const noexcept {
    // The proxy's hashes may be weak in the low bits; a multiplicative mix spreads them.
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> set_shift_);
  }
  size_t find_or_claim(Set& set, uint64_t key, Nanos now) noexcept;
  // Stores an entry taken from another table, evicting the set's least recently seen key when
  // it is full (a smaller table: counted as an eviction, that key restarts fresh).
  void import(uint64_t key, Nanos last_seen, const State& state) noexcept;

  size_t num_sets_;
  int set_shift_;
  Nanos idle_ttl_;
  std::unique_ptr<Set[]> sets_;
};

// A rate limit's per-key state word: a GCRA TAT or a packed window.
using KeyedTable = BasicKeyedTable<uint64_t>;

template <class State>
BasicKeyedTable<State>::BasicKeyedTable(size_t capacity, Nanos idle_ttl) : idle_ttl_(idle_ttl) {
  size_t sets = std::bit_ceil(std::max<size_t>((capacity + kWays - 1) / kWays, 2));
  num_sets_ = sets;
  set_shift_ = 64 - std::countr_zero(sets);
  sets_ = std::make_unique<Set[]>(sets);
  for (size_t i = 0; i < sets; ++i) {
    for (size_t w = 0; w < kWays; ++w) {
      sets_[i].key[w] = 0;
      sets_[i].last_seen[w] = kEmpty;
      sets_[i].state[w] = State{};
    }
  }
}

template <class State>
size_t BasicKeyedTable<State>::find_or_claim(Set& set, uint64_t key, Nanos now) noexcept {
  size_t victim = 0;
  for (size_t w = 0; w < kWays; ++w) {
    if (set.last_seen[w] != kEmpty && set.key[w] == key) {
      // A key idle past its TTL restarts fresh even if still resident, so decisions never depend
      // on whether some other key happened to evict it.
      if (idle_ttl_ > 0 && now - set.last_seen[w] >= idle_ttl_) set.state[w] = State{};
      if (now > set.last_seen[w]) set.last_seen[w] = now;
      return w;
    }
    if (set.last_seen[w] < set.last_seen[victim]) victim = w;  // empty (kEmpty) sorts first
  }
  const Nanos victim_seen = set.last_seen[victim];
  if (victim_seen != kEmpty && (idle_ttl_ <= 0 || now - victim_seen < idle_ttl_)) {
    ++set.evictions;
  }
  set.key[victim] = key;
  set.last_seen[victim] = now;
  set.state[victim] = State{};
  return victim;
}

template <class State>
void BasicKeyedTable<State>::import(uint64_t key, Nanos last_seen, const State& state) noexcept {
  Set& set = sets_[set_index(key)];
  std::lock_guard<SpinLock> guard(set.lock);
  size_t victim = 0;
  for (size_t w = 0; w < kWays; ++w) {
    if (set.last_seen[w] != kEmpty && set.key[w] == key) {
      victim = w;  // cannot happen from one hand_over (keys are unique), but stay a map
      break;
    }
    if (set.last_seen[w] < set.last_seen[victim]) victim = w;
  }
  if (set.last_seen[victim] != kEmpty && set.key[victim] != key) ++set.evictions;
  set.key[victim] = key;
  set.last_seen[victim] = last_seen;
  set.state[victim] = state;
}

template <class State>
size_t BasicKeyedTable<State>::size() const {
  size_t n = 0;
  for (size_t i = 0; i < num_sets_; ++i) {
    std::lock_guard<SpinLock> guard(sets_[i].lock);
    for (size_t w = 0; w < kWays; ++w) n += sets_[i].last_seen[w] != kEmpty;
  }
  return n;
}

template <class State>
uint64_t BasicKeyedTable<State>::evictions() const {
  uint64_t n = 0;
  for (size_t i = 0; i < num_sets_; ++i) {
    std::lock_guard<SpinLock> guard(sets_[i].lock);
    n += sets_[i].evictions;
  }
  return n;
}

}  // namespace sluice::limiter
