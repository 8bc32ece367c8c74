#include "proxy/worker/snapshot.hpp"

namespace sluice::proxy {

const ClusterRuntime* Snapshot::find_cluster(const std::string& name) const {
  for (const ClusterRuntime& c : clusters)
    if (c.name() == name) return &c;
  return nullptr;
}

const RateLimitRuntime* Snapshot::find_rate_limit(const std::string& name) const {
  for (const RateLimitRuntime& r : rate_limits)
    if (r.config->name == name) return &r;
  return nullptr;
}

}  // namespace sluice::proxy
