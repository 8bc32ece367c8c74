#include "balancers/round_robin.hpp"

namespace sluice::balancers {

std::optional<uint32_t> RoundRobin::pick(const PickInput& in, CoreState& core) const {
  const uint32_t n = size_;
  if (n == 0) return std::nullopt;
  uint32_t c = core.cursor;
  if (c >= n) [[unlikely]]
    c %= n;
  for (uint32_t step = 0; step < n; ++step) {
    if (!in.excluded.contains(c)) [[likely]] {
      core.cursor = c + 1;
      return c;
    }
    if (++c == n) c = 0;
  }
  return std::nullopt;
}

}  // namespace sluice::balancers
