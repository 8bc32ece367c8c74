#include "proxy/control/endpoint_registry.hpp"

#include <unordered_set>

namespace sluice::proxy {

std::shared_ptr<EndpointState> EndpointRegistry::endpoint(const std::string& cluster,
                                                          const std::string& address) {
  // '\n' cannot occur in a cluster name or an address, so the key is unambiguous.
  std::weak_ptr<EndpointState>& slot = endpoints_[cluster + '\n' + address];
  std::shared_ptr<EndpointState> state = slot.lock();
  if (!state) {
    state = std::make_shared<EndpointState>(next_id_++);
    slot = state;
  }
  return state;
}

std::shared_ptr<balancers::LoadTotal> EndpointRegistry::total(const std::string& cluster) {
  std::weak_ptr<balancers::LoadTotal>& slot = totals_[cluster];
  std::shared_ptr<balancers::LoadTotal> total = slot.lock();
  if (!total) {
    total = std::make_shared<balancers::LoadTotal>();
    slot = total;
  }
  return total;
}

void mark_removed_endpoints(const Snapshot& running, const Snapshot& next, int64_t drain_ns,
                            int64_t now_ns) {
  std::unordered_set<const EndpointState*> listed;
  for (const ClusterRuntime& c : next.clusters) {
    for (uint32_t i = 0; i < c.endpoints.size(); ++i) {
      EndpointState& state = c.endpoints.state(i);
      listed.insert(&state);
      // Stored only when set: the state shares cache lines with the load counters workers
      // write per request, and a publication touches every endpoint.
      if (state.removal_deadline_ns.load(std::memory_order_relaxed) != 0)
        state.removal_deadline_ns.store(0, std::memory_order_relaxed);
    }
  }
  for (const ClusterRuntime& c : running.clusters) {
    for (uint32_t i = 0; i < c.endpoints.size(); ++i) {
      EndpointState& state = c.endpoints.state(i);
      if (listed.contains(&state) || state.removal_deadline_ns.load(std::memory_order_relaxed) != 0)
        continue;
      state.removal_deadline_ns.store(now_ns + drain_ns, std::memory_order_relaxed);
    }
  }
}

}  // namespace sluice::proxy
