#include "proxy/upstream/endpoint_list.hpp"

namespace sluice::proxy {

void EndpointList::add(const config::Address& address, uint32_t weight,
                       std::shared_ptr<EndpointState> state) {
  endpoints_.push_back({state->id, address, weight});
  loads_.push_back(&state->load);
  states_.push_back(std::move(state));
  unhealthy_.reset(size());
}

std::vector<balancers::Endpoint> EndpointList::for_balancer() const {
  std::vector<balancers::Endpoint> out;
  out.reserve(endpoints_.size());
  // Hash balancers hash the id text: the address, so a reordered list keeps its placement.
  for (const UpstreamEndpoint& e : endpoints_) out.push_back({e.address.text, e.weight});
  return out;
}

}  // namespace sluice::proxy
