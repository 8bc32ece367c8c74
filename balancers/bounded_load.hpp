// Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam; HAProxy's
// hash-balance-factor): an endpoint may take a new request only while its in-flight count
// is below ceil((total + 1) * factor * weight / total_weight), where total is the
// cluster's in-flight count before this request. Overflow walks on to the next candidate
// of the key, so a hot key spills over without moving any other key.
//
// Threads: built with its balancer on the control thread; read-only afterwards.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "balancers/balancer.hpp"

namespace sluice::balancers {

class BoundedLoad {
 public:
  BoundedLoad() = default;  // disabled
  BoundedLoad(double factor, std::span<const Endpoint> endpoints) : factor_(factor) {
    weight_.reserve(endpoints.size());
    for (const auto& e : endpoints) {
      weight_.push_back(e.weight == 0 ? 1 : e.weight);
      weight_sum_ += weight_.back();
    }
  }

  bool enabled() const { return factor_ > 0.0; }
  double factor() const { return factor_; }

  // Capacity per unit of weight for this pick. Without a LoadTotal the total is summed
  // here, O(n): give the balancer a LoadTotal when n is large.
  double per_weight(const PickInput& in) const {
    uint64_t total = 0;
    if (in.load.total != nullptr) {
      total = in.load.total->in_flight.load(std::memory_order_relaxed);
    } else {
      for (const EndpointLoad* e : in.load.endpoints) {
        total += e->in_flight.load(std::memory_order_relaxed);
      }
    }
    return static_cast<double>(total + 1) * factor_ / static_cast<double>(weight_sum_);
  }

  // in_flight < ceil(x) is in_flight < x for an integer in_flight.
  bool has_room(const PickInput& in, double per_weight, uint32_t i) const {
    const uint32_t f = in.load.endpoints[i]->in_flight.load(std::memory_order_relaxed);
    return static_cast<double>(f) < per_weight * weight_[i];
  }

 private:
  double factor_ = 0.0;
  std::vector<uint32_t> weight_;
  uint64_t weight_sum_ = 0;
};

}  // namespace sluice::balancers
