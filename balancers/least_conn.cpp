#include "balancers/least_conn.hpp"

#include <algorithm>
#include <cassert>

namespace sluice::balancers {

LeastConn::LeastConn(std::span<const Endpoint> endpoints) : weight_(endpoints.size()) {
  for (size_t i = 0; i < endpoints.size(); ++i)
    weight_[i] = std::max<uint32_t>(1, endpoints[i].weight);
}

// Branch-free minimum: loads are effectively random, so a compare-and-branch would
// mispredict on a good share of the endpoints.
template <bool kCheckExcluded>
uint32_t LeastConn::scan(const PickInput& in, uint32_t start, uint32_t count) const {
  const uint32_t n = size();
  uint32_t best = n;
  uint64_t best_load = 1;  // (in_flight + 1) of best; with best_weight 0, anything beats it
  uint64_t best_weight = 0;
  uint32_t i = start;
  for (uint32_t k = 0; k < count; ++k, ++i) {
    if (i == n) i = 0;
    const uint64_t load =
        uint64_t{in.load.endpoints[i]->in_flight.load(std::memory_order_relaxed)} + 1;
    const uint64_t weight = weight_[i];
    // load / weight < best_load / best_weight, without dividing.
    bool better = load * best_weight < best_load * weight;
    if constexpr (kCheckExcluded) better = better && !in.excluded.contains(i);
    best = better ? i : best;
    best_load = better ? load : best_load;
    best_weight = better ? weight : best_weight;
  }
  return best;
}

std::optional<uint32_t> LeastConn::pick(const PickInput& in, CoreState& core) const {
  const uint32_t n = size();
  if (n == 0) return std::nullopt;
  assert(in.load.endpoints.size() == n);
  if (in.load.endpoints.size() != n) return std::nullopt;
  uint32_t best;
  if (n <= kFullScan) {
    uint32_t c = core.cursor;
    if (c >= n) c %= n;
    core.cursor = c + 1;
    best = in.excluded.empty() ? scan<false>(in, c, n) : scan<true>(in, c, n);
  } else {
    const uint32_t start = core.rng.below(n);
    if (in.excluded.empty()) [[likely]]
      return scan<false>(in, start, kWindow);
    best = scan<true>(in, start, kWindow);
    if (best == n) [[unlikely]]
      best = scan<true>(in, start, n);
  }
  if (best == n) return std::nullopt;
  return best;
}

}  // namespace sluice::balancers
