#include "limiter/keyed_table.hpp"

#include <bit>

namespace sluice::limiter {

KeyedTable::KeyedTable(size_t capacity, Nanos idle_ttl) : idle_ttl_(idle_ttl) {
  size_t sets = std::bit_ceil(std::max<size_t>((capacity + kWays - 1) / kWays, 2));
  num_sets_ = sets;
  set_shift_ = 64 - std::countr_zero(sets);
  sets_ = std::make_unique<Set[]>(sets);
  for (size_t i = 0; i < sets; ++i) {
    for (size_t w = 0; w < kWays; ++w) {
      sets_[i].key[w] = 0;
      sets_[i].last_seen[w] = kEmpty;
      sets_[i].state[w] = 0;
    }
  }
}

size_t KeyedTable::find_or_claim(Set& set, uint64_t key, Nanos now) noexcept {
  size_t victim = 0;
  for (size_t w = 0; w < kWays; ++w) {
    if (set.last_seen[w] != kEmpty && set.key[w] == key) {
      // A key idle past its TTL restarts fresh even if still resident, so decisions never depend
      // on whether some other key happened to evict it.
      if (idle_ttl_ > 0 && now - set.last_seen[w] >= idle_ttl_) set.state[w] = 0;
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
  set.state[victim] = 0;
  return victim;
}

void KeyedTable::import(uint64_t key, Nanos last_seen, uint64_t state) noexcept {
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

size_t KeyedTable::size() const {
  size_t n = 0;
  for (size_t i = 0; i < num_sets_; ++i) {
    std::lock_guard<SpinLock> guard(sets_[i].lock);
    for (size_t w = 0; w < kWays; ++w) n += sets_[i].last_seen[w] != kEmpty;
  }
  return n;
}

uint64_t KeyedTable::evictions() const {
  uint64_t n = 0;
  for (size_t i = 0; i < num_sets_; ++i) {
    std::lock_guard<SpinLock> guard(sets_[i].lock);
    n += sets_[i].evictions;
  }
  return n;
}

}  // namespace sluice::limiter
