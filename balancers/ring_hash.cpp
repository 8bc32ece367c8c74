#include "balancers/ring_hash.hpp"

#include <algorithm>
#include <bit>
#include <string_view>

#include "balancers/key_hash.hpp"

namespace sluice::balancers {

RingHash::RingHash(std::span<const Endpoint> endpoints, uint32_t virtual_nodes,
                   std::optional<double> bounded_load)
    : size_(static_cast<uint32_t>(endpoints.size())) {
  if (bounded_load) bound_ = BoundedLoad(*bounded_load, endpoints);
  if (size_ == 0) return;
  virtual_nodes = std::max<uint32_t>(virtual_nodes, 1);
  uint64_t wanted = 0;
  for (const auto& e : endpoints)
    wanted += uint64_t{virtual_nodes} * std::max<uint32_t>(e.weight, 1);
  const double scale =
      wanted > kMaxPoints ? static_cast<double>(kMaxPoints) / static_cast<double>(wanted) : 1.0;

  for (uint32_t i = 0; i < size_; ++i) {
    const uint64_t id = hash_key(endpoints[i].id);
    const double want =
        static_cast<double>(virtual_nodes) * std::max<uint32_t>(endpoints[i].weight, 1);
    const uint64_t count = std::max<uint64_t>(1, static_cast<uint64_t>(want * scale));
    for (uint64_t v = 0; v < count; ++v) {
      ring_.push_back({fmix64(id + (v + 1) * 0x9e3779b97f4a7c15ULL), i});
    }
  }
  std::sort(ring_.begin(), ring_.end(), [&](const Point& a, const Point& b) {
    if (a.hash != b.hash) return a.hash < b.hash;
    return std::string_view(endpoints[a.owner].id) < std::string_view(endpoints[b.owner].id);
  });

  // About one point per bucket, at most 2^20 buckets.
  const int bits = std::clamp(static_cast<int>(std::bit_width(ring_.size())), 1, 20);
  shift_ = 64 - bits;
  bucket_.resize((size_t{1} << bits) + 1);
  size_t p = 0;
  for (size_t b = 0; b < bucket_.size(); ++b) {
    while (p < ring_.size() && (ring_[p].hash >> shift_) < b) ++p;
    bucket_[b] = static_cast<uint32_t>(p);
  }
}

uint32_t RingHash::locate(uint64_t key) const {
  // Points of later buckets are all above key, so this scan stays in key's bucket.
  uint32_t i = bucket_[key >> shift_];
  const uint32_t end = static_cast<uint32_t>(ring_.size());
  while (i < end && ring_[i].hash < key) ++i;
  return i == end ? 0 : i;
}

std::optional<uint32_t> RingHash::pick(const PickInput& in, CoreState& core) const {
  if (ring_.empty()) return std::nullopt;
  const bool bounded = bound_.enabled();
  if (bounded && in.load.endpoints.size() != size_) return std::nullopt;
  uint32_t i = locate(in.key);
  const uint32_t owner = ring_[i].owner;
  double per_weight = 0.0;
  if (!in.excluded.contains(owner)) [[likely]] {
    if (!bounded) return owner;
    per_weight = bound_.per_weight(in);
    if (bound_.has_room(in, per_weight, owner)) return owner;
  } else {
    if (!in.excluded.any_allowed(size_)) return std::nullopt;
    if (bounded) per_weight = bound_.per_weight(in);
  }
  const uint32_t end = static_cast<uint32_t>(ring_.size());
  uint32_t first_allowed = size_;
  for (uint32_t step = 0; step < end; ++step) {
    const uint32_t o = ring_[i].owner;
    if (!in.excluded.contains(o)) {
      if (first_allowed == size_) first_allowed = o;
      if (!bounded || bound_.has_room(in, per_weight, o)) return o;
    }
    if (++i == end) i = 0;
  }
  return first_allowed;
}

std::vector<double> RingHash::ownership() const {
  std::vector<double> share(size_, 0.0);
  if (ring_.empty()) return share;
  constexpr double kSpace = 18446744073709551616.0;  // 2^64
  // Point i owns the arc (previous point, point i]; the first point also owns the wrap.
  uint64_t prev = ring_.back().hash;
  for (const Point& p : ring_) {
    share[p.owner] += static_cast<double>(p.hash - prev) / kSpace;  // unsigned wraps
    prev = p.hash;
  }
  if (ring_.size() == 1) share[ring_[0].owner] = 1.0;
  return share;
}

}  // namespace sluice::balancers
