// Plain round robin: each worker walks the endpoints in order from its own cursor.
// Threads: build on the control thread; pick() from any worker with its own CoreState.
#pragma once

#include <span>

#include "balancers/balancer.hpp"

namespace sluice::balancers {

class RoundRobin final : public Balancer {
 public:
  explicit RoundRobin(std::span<const Endpoint> endpoints)
      : size_(static_cast<uint32_t>(endpoints.size())) {}

  // An excluded endpoint's turn goes to the next allowed one (as HAProxy does), so the
  // cursor never stalls on a dead endpoint.
  std::optional<uint32_t> pick(const PickInput& in, CoreState& core) const override;

  uint32_t size() const override { return size_; }
  std::string_view name() const override { return "round_robin"; }

 private:
  uint32_t size_;
};

}  // namespace sluice::balancers
