// Per-endpoint load counters (in-flight, latency EWMA) kept outside any
// snapshot, keyed by stable names ("cluster" + endpoint address), so a config
// reload or a discovery update hands least-conn and P2C the same counters
// instead of resetting them. Control thread only; workers reach the counters
// through the snapshot, which holds them alive.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "balancers/load.hpp"

namespace sluice::proxy {

class LoadRegistry {
 public:
  std::shared_ptr<balancers::EndpointLoad> endpoint(const std::string& cluster,
                                                    const std::string& endpoint_id);
  std::shared_ptr<balancers::LoadTotal> total(const std::string& cluster);

 private:
  // Weak: counters no snapshot uses any more go away with the last snapshot.
  template <typename T>
  static std::shared_ptr<T> get(std::map<std::string, std::weak_ptr<T>>& map,
                                const std::string& key);
  std::map<std::string, std::weak_ptr<balancers::EndpointLoad>> endpoints_;
  std::map<std::string, std::weak_ptr<balancers::LoadTotal>> totals_;
};

}  // namespace sluice::proxy
