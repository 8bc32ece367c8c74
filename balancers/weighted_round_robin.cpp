#include "balancers/weighted_round_robin.hpp"

#include <algorithm>
#include <numeric>

namespace sluice::balancers {

WeightedRoundRobin::WeightedRoundRobin(std::span<const Endpoint> endpoints)
    : size_(static_cast<uint32_t>(endpoints.size())) {
  const uint32_t n = size_;
  if (n == 0) return;
  std::vector<int64_t> weight(n);
  uint64_t g = 0;
  for (uint32_t i = 0; i < n; ++i) {
    weight[i] = std::max<uint32_t>(endpoints[i].weight, 1);
    g = std::gcd(g, static_cast<uint64_t>(weight[i]));
  }
  uint64_t total = 0;
  for (auto& w : weight) {
    w /= static_cast<int64_t>(g);
    total += static_cast<uint64_t>(w);
  }
  const uint64_t cap = std::max<uint64_t>(n, std::min(kMaxPeriod, kMaxBuildSteps / n));
  if (total > cap) {
    const double scale = static_cast<double>(cap) / static_cast<double>(total);
    for (auto& w : weight) {
      w = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(w) * scale));
    }
  }
  total = 0;
  for (auto w : weight) total += static_cast<uint64_t>(w);

  // nginx ngx_http_upstream_get_peer: every endpoint gains its weight, the largest current
  // weight wins (the first one on ties) and pays the total back.
  sequence_.reserve(total);
  std::vector<int64_t> current(n, 0);
  for (uint64_t step = 0; step < total; ++step) {
    uint32_t best = 0;
    for (uint32_t i = 0; i < n; ++i) {
      current[i] += weight[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= static_cast<int64_t>(total);
    sequence_.push_back(best);
  }
}

std::optional<uint32_t> WeightedRoundRobin::pick(const PickInput& in, CoreState& core) const {
  const uint32_t period = static_cast<uint32_t>(sequence_.size());
  if (period == 0) return std::nullopt;
  uint32_t c = core.cursor;
  if (c >= period) [[unlikely]]
    c %= period;
  const uint32_t first = sequence_[c];
  if (!in.excluded.contains(first)) [[likely]] {
    core.cursor = c + 1;
    return first;
  }
  if (!in.excluded.any_allowed(size_)) return std::nullopt;
  // Walk the schedule a bounded distance; a light endpoint may be far away in a long
  // period, so then fall back to the next allowed index after the scheduled one.
  const uint32_t limit = std::min(period, 4 * size_);
  for (uint32_t step = 1; step < limit; ++step) {
    if (++c == period) c = 0;
    if (!in.excluded.contains(sequence_[c])) {
      core.cursor = c + 1;
      return sequence_[c];
    }
  }
  core.cursor = c + 1;
  for (uint32_t i = first + 1;; ++i) {
    if (i == size_) i = 0;
    if (!in.excluded.contains(i)) return i;
  }
}

}  // namespace sluice::balancers
