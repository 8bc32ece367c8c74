// Counts one connection (L4) or request (L7) against an endpoint's shared load
// counters from the pick until it ends, so least-conn, P2C and bounded-load
// hashing see work still being established. Owned by one session.
#pragma once

#include <cstdint>

#include "balancers/load.hpp"
#include "proxy/upstream/cluster.hpp"

namespace sluice::proxy {

class LoadTicket {
 public:
  LoadTicket() = default;
  LoadTicket(const LoadTicket&) = delete;
  LoadTicket& operator=(const LoadTicket&) = delete;
  ~LoadTicket() { end(); }

  void begin(const ClusterRuntime& cluster, uint32_t endpoint) {
    end();
    if (!cluster.tracks_load) return;
    load_ = cluster.endpoints.load(endpoint);
    total_ = cluster.total.get();
    balancers::begin_request(*load_, total_);
  }
  void end() {
    if (load_ == nullptr) return;
    balancers::end_request(*load_, total_);
    load_ = nullptr;
  }
  balancers::EndpointLoad* load() const { return load_; }

 private:
  balancers::EndpointLoad* load_ = nullptr;
  balancers::LoadTotal* total_ = nullptr;
};

}  // namespace sluice::proxy
