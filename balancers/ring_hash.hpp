// Ketama-style consistent hash ring. Each endpoint owns virtual_nodes × weight points at
// fmix64(hash(id) + v·φ); a key goes to the owner of the first point at or after its hash.
// Points depend only on identities, and equal points are ordered by identity, so the
// mapping is independent of the order endpoints are listed in. Removing an endpoint moves
// only its own keys.
//
// Lookup uses a bucket index on the top bits of the hash (about one point per bucket)
// instead of a binary search over the whole ring: a couple of cache misses, not ~17.
//
// The ring is capped at kMaxPoints; above that each endpoint's point count is scaled
// down proportionally (at least one each).
//
// Threads: build on the control thread; pick() from any worker.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "balancers/balancer.hpp"
#include "balancers/bounded_load.hpp"

namespace sluice::balancers {

class RingHash final : public Balancer {
 public:
  static constexpr uint64_t kMaxPoints = uint64_t{1} << 22;

  RingHash(std::span<const Endpoint> endpoints, uint32_t virtual_nodes,
           std::optional<double> bounded_load = std::nullopt);

  // Candidates in ring order from the key: excluded endpoints (and, with bounded load,
  // full ones) are passed over. If every allowed endpoint is full, the key's first allowed
  // endpoint is returned anyway.
  std::optional<uint32_t> pick(const PickInput& in, CoreState& core) const override;

  uint32_t size() const override { return size_; }
  std::string_view name() const override { return "consistent_hash"; }

  // The share of the hash space each endpoint owns (for tests and diagnostics).
  std::vector<double> ownership() const;
  size_t points() const { return ring_.size(); }

 private:
  struct Point {
    uint64_t hash;
    uint32_t owner;
  };

  uint32_t locate(uint64_t key) const;

  uint32_t size_;
  std::vector<Point> ring_;
  std::vector<uint32_t> bucket_;  // bucket_[b]: first point whose top bits are >= b
  int shift_ = 64;
  BoundedLoad bound_;
};

}  // namespace sluice::balancers
