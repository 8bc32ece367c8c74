#include "proxy/upstream/endpoint_picker.hpp"

namespace sluice::proxy {

void EndpointPicker::reset(const ClusterRuntime& cluster) {
  skip_.reset(cluster.endpoints.size());
  tried_ = 0;
}

std::optional<uint32_t> EndpointPicker::pick(const ClusterRuntime& cluster,
                                             balancers::CoreState& core, uint64_t key,
                                             int64_t now_ns) {
  balancers::PickInput in;
  in.key = key;
  in.excluded = balancers::Exclusion(skip_, cluster.endpoints.unhealthy());
  in.load = cluster.load_view();
  if (cluster.tracks_latency) in.now_ns = now_ns;
  // Ejection is checked on the endpoint picked instead of building the set of
  // ejected endpoints first: the common case (nothing ejected) costs one load.
  // The detector caps how many are out, so the walk ends.
  for (;;) {
    std::optional<uint32_t> endpoint = cluster.balancer->pick(in, core);
    if (!endpoint) return std::nullopt;
    skip_.insert(*endpoint);
    if (cluster.outliers && cluster.outliers->is_ejected(*endpoint, now_ns)) continue;
    ++tried_;
    return endpoint;
  }
}

void EndpointPicker::untry(uint32_t endpoint) {
  if (!skip_.contains(endpoint)) return;
  skip_.erase(endpoint);
  --tried_;
}

}  // namespace sluice::proxy
