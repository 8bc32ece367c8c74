// Least connections: the endpoint with the fewest in-flight requests relative to its
// weight, comparing (in_flight + 1) / weight (the +1 makes an idle heavy endpoint beat an
// idle light one).
//
// Up to kFullScan endpoints every pick scans all of them, starting at the worker's rotating
// cursor so ties (e.g. all idle) go round robin instead of all to the first endpoint.
// Above that a full scan costs more than the request budget (1000 cache lines), so a pick
// examines kWindow consecutive endpoints from a random start and takes the least loaded of
// those: a power-of-d-choices scheme (d = kWindow), which keeps the maximum load within a
// small additive term of the mean instead of guaranteeing the global minimum.
//
// Threads: build on the control thread; pick() from any worker with its own CoreState.
#pragma once

#include <span>
#include <vector>

#include "balancers/balancer.hpp"

namespace sluice::balancers {

class LeastConn final : public Balancer {
 public:
  static constexpr uint32_t kFullScan = 16;
  static constexpr uint32_t kWindow = 8;

  explicit LeastConn(std::span<const Endpoint> endpoints);

  std::optional<uint32_t> pick(const PickInput& in, CoreState& core) const override;

  uint32_t size() const override { return static_cast<uint32_t>(weight_.size()); }
  std::string_view name() const override { return "least_conn"; }

 private:
  // Scans `count` endpoints from `start` (wrapping) and returns the least loaded allowed
  // one, or size() when all of them are excluded.
  template <bool kCheckExcluded>
  uint32_t scan(const PickInput& in, uint32_t start, uint32_t count) const;

  std::vector<uint32_t> weight_;
};

}  // namespace sluice::balancers
