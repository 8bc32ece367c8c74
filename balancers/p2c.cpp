#include "balancers/p2c.hpp"

#include <algorithm>
#include <bit>
#include <cassert>

namespace sluice::balancers {

namespace {
constexpr int kRedraws = 4;
}  // namespace

P2c::P2c(std::span<const Endpoint> endpoints, P2cLoad load, int64_t tau_ns)
    : weight_(endpoints.size()),
      load_(load),
      tau_ns_(tau_ns),
      inv_tau_(tau_ns > 0 ? 1.0 / static_cast<double>(tau_ns) : 0.0) {
  for (size_t i = 0; i < endpoints.size(); ++i)
    weight_[i] = std::max<uint32_t>(1, endpoints[i].weight);
}

uint32_t P2c::better(const PickInput& in, uint32_t a, uint32_t b) const {
  const EndpointLoad& la = *in.load.endpoints[a];
  const EndpointLoad& lb = *in.load.endpoints[b];
  const uint64_t fa = uint64_t{la.in_flight.load(std::memory_order_relaxed)} + 1;
  const uint64_t fb = uint64_t{lb.in_flight.load(std::memory_order_relaxed)} + 1;
  if (load_ == P2cLoad::in_flight) {
    // fa / wa > fb / wb, without dividing.
    return fa * weight_[b] > fb * weight_[a] ? b : a;
  }
  // An endpoint without a latency sample (new, or one that never answers: a
  // stalled endpoint gives no samples) would cost 0 and attract everything; its
  // in-flight count is the evidence we have, so compare on that alone.
  if (la.ewma_bits.load(std::memory_order_relaxed) == 0 ||
      lb.ewma_bits.load(std::memory_order_relaxed) == 0)
    return fa * weight_[b] > fb * weight_[a] ? b : a;
  // ewma × decay × in_flight / weight compared for both, with decay = 1 / d kept as its
  // denominator d = (1 + x/16)^16 (see decay_factor) and moved across: no division.
  const auto scaled = [&](const EndpointLoad& e, uint64_t f, uint32_t other_weight) {
    const double v = std::bit_cast<double>(e.ewma_bits.load(std::memory_order_relaxed));
    return v * static_cast<double>(f) * other_weight;
  };
  const auto denominator = [&](const EndpointLoad& e) {
    const int64_t dt = in.now_ns - e.ewma_stamp_ns.load(std::memory_order_relaxed);
    // Clamped so an ancient sample decays to ~6e-12 instead of overflowing.
    const double x = std::clamp(static_cast<double>(dt) * inv_tau_, 0.0, 64.0);
    double y = 1.0 + x / 16.0;
    y *= y;
    y *= y;
    y *= y;
    y *= y;
    return y;
  };
  const double ca = scaled(la, fa, weight_[b]) * denominator(lb);
  const double cb = scaled(lb, fb, weight_[a]) * denominator(la);
  // Equal costs happen mostly before the first samples (both 0): fall back to in-flight.
  if (ca == cb) return fa * weight_[b] > fb * weight_[a] ? b : a;
  return ca > cb ? b : a;
}

std::optional<uint32_t> P2c::pick(const PickInput& in, CoreState& core) const {
  const uint32_t n = size();
  if (n == 0) return std::nullopt;
  assert(in.load.endpoints.size() == n);
  if (in.load.endpoints.size() != n) return std::nullopt;
  if (n == 1) {
    if (in.excluded.contains(0)) return std::nullopt;
    return 0;
  }
  for (int attempt = 0; attempt < kRedraws; ++attempt) {
    const auto [a, b] = draw(n, core.rng);
    const bool ok_a = !in.excluded.contains(a);
    const bool ok_b = !in.excluded.contains(b);
    if (ok_a && ok_b) [[likely]]
      return better(in, a, b);
  }
  // Many exclusions: compare the first two allowed endpoints from a random start.
  uint32_t found[2];
  int count = 0;
  uint32_t i = core.rng.below(n);
  for (uint32_t k = 0; k < n && count < 2; ++k, ++i) {
    if (i == n) i = 0;
    if (!in.excluded.contains(i)) found[count++] = i;
  }
  if (count == 2) return better(in, found[0], found[1]);
  if (count == 1) return found[0];
  return std::nullopt;
}

}  // namespace sluice::balancers
