// Power of two choices: draw two distinct endpoints at random and take the less loaded.
//
// Load is either the in-flight count, or (Finagle/Linkerd) the peak-EWMA latency times
// (in_flight + 1), so a slow endpoint looks busy before its queue builds up. Both are
// divided by the endpoint's weight. An endpoint with no latency sample yet costs 0 under
// ewma_latency, so new endpoints get probed; equal EWMA costs (e.g. two unsampled
// endpoints) are decided by in-flight, remaining ties go to the first (random) draw.
//
// Threads: build on the control thread; pick() from any worker with its own CoreState.
#pragma once

#include <span>
#include <utility>
#include <vector>

#include "balancers/balancer.hpp"

namespace sluice::balancers {

enum class P2cLoad { in_flight, ewma_latency };

class P2c final : public Balancer {
 public:
  // tau: the EWMA decay time constant (Finagle and Linkerd default to 10 s).
  P2c(std::span<const Endpoint> endpoints, P2cLoad load, int64_t tau_ns = 10'000'000'000);

  // When a draw hits an excluded endpoint it is redrawn a few times; after that the first
  // two allowed endpoints from a random start are compared (O(n), rare).
  std::optional<uint32_t> pick(const PickInput& in, CoreState& core) const override;

  uint32_t size() const override { return static_cast<uint32_t>(weight_.size()); }
  std::string_view name() const override { return "p2c"; }
  P2cLoad load_mode() const { return load_; }
  int64_t tau_ns() const { return tau_ns_; }

  // Two distinct indices, uniformly among all ordered pairs; needs n >= 2. This is the
  // exact draw pick() makes, so tests can replay it from a copy of the Rng.
  static std::pair<uint32_t, uint32_t> draw(uint32_t n, Rng& rng) {
    const uint32_t a = rng.below(n);
    uint32_t b = rng.below(n - 1);
    b += b >= a ? 1 : 0;
    return {a, b};
  }

 private:
  // The less loaded of a and b (a on ties).
  uint32_t better(const PickInput& in, uint32_t a, uint32_t b) const;

  std::vector<uint32_t> weight_;
  P2cLoad load_;
  int64_t tau_ns_;
  double inv_tau_;
};

}  // namespace sluice::balancers
