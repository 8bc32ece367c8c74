// One request's (or relay's) walk over its cluster's endpoints: each pick
// skips the endpoints it already tried, those outlier detection ejected and
// those health checks took out, on a cluster of any size, and passes over
// endpoints backing off after a failed connect while others are left. Worker
// thread only; reused from request to request without allocating once large
// enough.
#pragma once

#include <cstdint>
#include <optional>

#include "balancers/balancer.hpp"
#include "balancers/endpoint.hpp"
#include "proxy/upstream/cluster.hpp"

namespace sluice::proxy {

class EndpointPicker {
 public:
  // A new walk over `cluster`.
  void reset(const ClusterRuntime& cluster);
  // The next endpoint, marked tried; none when every endpoint is tried,
  // ejected or unhealthy. `now_ns` is the outlier detector's clock.
  std::optional<uint32_t> pick(const ClusterRuntime& cluster, balancers::CoreState& core,
                               uint64_t key, int64_t now_ns);
  // Takes `endpoint` (a sticky cookie's) as this walk's pick, marked tried, when it is
  // routable: not tried, not unhealthy, not ejected, not backing off after a failed connect.
  // False leaves the walk as it was, for the balancer.
  bool take(const ClusterRuntime& cluster, uint32_t endpoint, int64_t now_ns);
  // Makes a tried endpoint eligible again (a request retried on the same one).
  void untry(uint32_t endpoint);
  uint32_t tried() const { return tried_; }
  // Whether a pick now would find an endpoint: one not tried, not ejected and
  // not unhealthy. O(endpoints); for retry decisions, which are rare.
  bool has_candidate(const ClusterRuntime& cluster, int64_t now_ns) const;

 private:
  // Tried ones, and ejected or backing-off ones met on the way (so they are
  // not picked twice); the health overlay is the snapshot's, passed alongside.
  balancers::EndpointSet skip_;
  balancers::EndpointSet backing_off_;  // passed over this walk, in skip_ too
  uint32_t tried_ = 0;
};

}  // namespace sluice::proxy
