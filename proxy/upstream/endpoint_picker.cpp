#include "proxy/upstream/endpoint_picker.hpp"

namespace sluice::proxy {

void EndpointPicker::reset(const ClusterRuntime& cluster) {
  skip_.reset(cluster.endpoints.size());
  backing_off_.reset(cluster.endpoints.size());
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
  // Ejection and back-off are checked on the endpoint picked instead of
  // building their sets first: the common case (nothing ejected, nothing
  // backing off) costs two loads. The walk ends: each round skips one more.
  bool passed_over = false;
  bool ignore_backoff = false;
  for (;;) {
    std::optional<uint32_t> endpoint = cluster.balancer->pick(in, core);
    if (!endpoint) {
      if (!passed_over) return std::nullopt;
      // Everything left is backing off: trying one beats failing the request.
      for (uint32_t i = 0; i < backing_off_.size(); ++i)
        if (backing_off_.contains(i)) skip_.erase(i);
      backing_off_.clear();
      passed_over = false;
      ignore_backoff = true;
      continue;
    }
    skip_.insert(*endpoint);
    if (cluster.outliers && cluster.outliers->is_ejected(*endpoint, now_ns)) continue;
    if (!ignore_backoff && cluster.endpoints.state(*endpoint).backing_off(now_ns)) {
      backing_off_.insert(*endpoint);
      passed_over = true;
      continue;
    }
    ++tried_;
    return endpoint;
  }
}

bool EndpointPicker::take(const ClusterRuntime& cluster, uint32_t endpoint, int64_t now_ns) {
  if (endpoint >= cluster.endpoints.size() || skip_.contains(endpoint) ||
      cluster.endpoints.unhealthy().contains(endpoint) ||
      (cluster.outliers && cluster.outliers->is_ejected(endpoint, now_ns)) ||
      cluster.endpoints.state(endpoint).backing_off(now_ns))
    return false;
  skip_.insert(endpoint);
  ++tried_;
  return true;
}

void EndpointPicker::untry(uint32_t endpoint) {
  if (!skip_.contains(endpoint)) return;
  skip_.erase(endpoint);
  --tried_;
}

bool EndpointPicker::has_candidate(const ClusterRuntime& cluster, int64_t now_ns) const {
  const balancers::EndpointSet& unhealthy = cluster.endpoints.unhealthy();
  for (uint32_t i = 0; i < cluster.endpoints.size(); ++i) {
    if (skip_.contains(i) && !backing_off_.contains(i)) continue;
    if (unhealthy.contains(i)) continue;
    if (cluster.outliers && cluster.outliers->is_ejected(i, now_ns)) continue;
    return true;
  }
  return false;
}

}  // namespace sluice::proxy
