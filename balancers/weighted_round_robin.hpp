// Smooth weighted round robin, the nginx algorithm: weights 5,1,1 give a a b a c a a.
//
// nginx keeps a "current weight" per endpoint and scans all of them on every pick, which
// is O(n) and would put per-endpoint state in each worker. The sequence is periodic, so it
// is computed once here (period = sum of weights / their gcd) and a pick is one step of
// the worker's cursor through it: O(1), and the exact nginx order.
//
// The period is capped (kMaxPeriod, and kMaxBuildSteps / n so building stays fast); above
// the cap weights are scaled down proportionally (each stays >= 1), so shares are then
// exact only up to that rounding.
//
// Threads: build on the control thread; pick() from any worker with its own CoreState.
#pragma once

#include <span>
#include <vector>

#include "balancers/balancer.hpp"

namespace sluice::balancers {

class WeightedRoundRobin final : public Balancer {
 public:
  static constexpr uint64_t kMaxPeriod = uint64_t{1} << 20;
  static constexpr uint64_t kMaxBuildSteps = uint64_t{1} << 26;

  explicit WeightedRoundRobin(std::span<const Endpoint> endpoints);

  // An excluded endpoint's slot goes to the next allowed entry of the sequence, so shares
  // among the remaining endpoints stay roughly proportional to their weights.
  std::optional<uint32_t> pick(const PickInput& in, CoreState& core) const override;

  uint32_t size() const override { return size_; }
  std::string_view name() const override { return "weighted_round_robin"; }

  // One period of the schedule (for tests and diagnostics).
  std::span<const uint32_t> sequence() const { return sequence_; }

 private:
  uint32_t size_;
  std::vector<uint32_t> sequence_;
};

}  // namespace sluice::balancers
