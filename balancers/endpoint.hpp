// Endpoints as balancers see them, and the exclusion overlay (unhealthy, ejected,
// already tried) that lets a pick skip endpoints without rebuilding any table.
//
// Threads: Endpoint lists are built on the control thread and immutable afterwards.
// An EndpointSet is plain memory: whoever writes it must own it (a worker's per-request
// "tried" set) or publish a new one (the control thread's health overlay); readers never
// see it change under them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sluice::balancers {

// `id` is the stable identity (typically the address text). Hash balancers hash it, never
// the endpoint's position, so the order in which discovery lists endpoints does not matter.
struct Endpoint {
  std::string id;
  uint32_t weight = 1;
};

// A fixed-size bitset over endpoint indices. Sized once (allocation happens here, at
// setup); insert/erase/clear never allocate, so a worker can reuse one per request.
class EndpointSet {
 public:
  EndpointSet() = default;
  explicit EndpointSet(uint32_t size) : words_((size + 63) / 64, 0), size_(size) {}

  uint32_t size() const { return size_; }
  bool contains(uint32_t i) const { return i < size_ && ((words_[i >> 6] >> (i & 63)) & 1) != 0; }
  void insert(uint32_t i) {
    if (i < size_) words_[i >> 6] |= uint64_t{1} << (i & 63);
  }
  void erase(uint32_t i) {
    if (i < size_) words_[i >> 6] &= ~(uint64_t{1} << (i & 63));
  }
  void clear() {
    for (auto& w : words_) w = 0;
  }
  // Empties the set and gives it `size` members; allocates only when it grows
  // past every size it had before, so a worker can keep one per request slot.
  void reset(uint32_t size) {
    words_.assign((size + 63) / 64, 0);
    size_ = size;
  }
  std::span<const uint64_t> words() const { return words_; }

 private:
  std::vector<uint64_t> words_;
  uint32_t size_ = 0;
};

// What a pick must skip: the union of up to two sets, so the shared health overlay and
// the per-request "already tried" set need not be merged on every request. A
// non-owning view; the default excludes nothing. Bits beyond a set's size read as 0.
class Exclusion {
 public:
  constexpr Exclusion() = default;
  Exclusion(const EndpointSet& a) : a_(a.words()) {}  // NOLINT: implicit on purpose
  Exclusion(const EndpointSet& a, const EndpointSet& b) : a_(a.words()), b_(b.words()) {}
  Exclusion(std::span<const uint64_t> a, std::span<const uint64_t> b) : a_(a), b_(b) {}

  // True when nothing is excluded, so hot loops can skip the per-endpoint test.
  bool empty() const { return a_.empty() && b_.empty(); }

  bool contains(uint32_t i) const {
    const size_t k = i >> 6;
    uint64_t w = 0;
    if (k < a_.size()) w |= a_[k];
    if (k < b_.size()) w |= b_[k];
    return ((w >> (i & 63)) & 1) != 0;
  }

  // O(n / 64). Only called on slow paths, after the first candidate was excluded, so an
  // "everything excluded" pick ends quickly instead of walking a whole table.
  bool any_allowed(uint32_t n) const {
    const size_t full = n >> 6;
    for (size_t k = 0; k < full; ++k) {
      if (~word(k) != 0) return true;
    }
    const uint32_t rest = n & 63;
    if (rest == 0) return false;
    const uint64_t mask = (uint64_t{1} << rest) - 1;
    return (~word(full) & mask) != 0;
  }

 private:
  uint64_t word(size_t k) const {
    return (k < a_.size() ? a_[k] : 0) | (k < b_.size() ? b_[k] : 0);
  }

  std::span<const uint64_t> a_;
  std::span<const uint64_t> b_;
};

}  // namespace sluice::balancers
