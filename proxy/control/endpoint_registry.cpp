#include "proxy/control/endpoint_registry.hpp"

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

}  // namespace sluice::proxy
