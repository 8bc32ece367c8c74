#include "proxy/control/load_registry.hpp"

namespace sluice::proxy {

template <typename T>
std::shared_ptr<T> LoadRegistry::get(std::map<std::string, std::weak_ptr<T>>& map,
                                     const std::string& key) {
  std::weak_ptr<T>& slot = map[key];
  std::shared_ptr<T> counter = slot.lock();
  if (!counter) {
    counter = std::make_shared<T>();
    slot = counter;
  }
  return counter;
}

std::shared_ptr<balancers::EndpointLoad> LoadRegistry::endpoint(const std::string& cluster,
                                                                const std::string& endpoint_id) {
  // '\n' cannot occur in a cluster name or an address, so the key is unambiguous.
  return get(endpoints_, cluster + '\n' + endpoint_id);
}

std::shared_ptr<balancers::LoadTotal> LoadRegistry::total(const std::string& cluster) {
  return get(totals_, cluster);
}

}  // namespace sluice::proxy
