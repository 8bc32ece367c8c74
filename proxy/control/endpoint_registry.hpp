// The state of each endpoint kept outside any snapshot, keyed by stable names
// (cluster + endpoint address): its id and load counters (in-flight, latency
// EWMA), so a config reload or a discovery update hands the balancers the same
// counters and the same identity instead of resetting them, whatever position
// the endpoint takes in the new list. Control thread only; workers reach the
// state through the snapshot, which holds it alive.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "balancers/load.hpp"
#include "proxy/upstream/endpoint_list.hpp"
#include "proxy/worker/snapshot.hpp"

namespace sluice::proxy {

class EndpointRegistry {
 public:
  std::shared_ptr<EndpointState> endpoint(const std::string& cluster, const std::string& address);
  std::shared_ptr<balancers::LoadTotal> total(const std::string& cluster);

 private:
  // Weak: state no snapshot uses any more goes away with the last snapshot.
  std::map<std::string, std::weak_ptr<EndpointState>> endpoints_;
  std::map<std::string, std::weak_ptr<balancers::LoadTotal>> totals_;
  uint32_t next_id_ = 1;
};

// As `next` replaces `running`: an endpoint `next` no longer lists gets a removal deadline
// (`now_ns` + `drain_ns`; relays to it still open then are cut by their worker), and every
// endpoint `next` lists loses any deadline (it was re-added). Keeps an earlier deadline.
void mark_removed_endpoints(const Snapshot& running, const Snapshot& next, int64_t drain_ns,
                            int64_t now_ns);

}  // namespace sluice::proxy
