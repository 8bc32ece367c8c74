// Consul's health API as the Consul source reads it: the blocking query's target
// (/v1/health/service/<name>?passing=1&index=&wait=), the answer's instances as endpoints
// (Service.Address, else Node.Address; Service.Port; Service.Weights.Passing), and what the
// next query's index is, following Consul's blocking-query guidance (an index that goes
// backwards or is not a positive number starts over from 0). Control thread; pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/control/discovery/update_guard.hpp"

namespace sluice::proxy::discovery::consul {

struct Query {
  std::string service;
  std::string tag;         // empty: every instance
  std::string datacenter;  // empty: the agent's own
};

// index 0 asks without blocking; `wait` is rounded up to whole seconds.
std::string health_target(const Query& query, uint64_t index, std::chrono::milliseconds wait);

struct HealthAnswer {
  std::vector<DiscoveredEndpoint> endpoints;  // one per address, in the answer's order
  std::vector<std::string> skipped;           // why an instance is not an endpoint
  std::string error;                          // the body is not Consul's answer
};
HealthAnswer parse_health_answer(std::string_view body);

// The index for the next query, from the one just used and the answer's X-Consul-Index.
uint64_t next_index(uint64_t previous, std::string_view header);

}  // namespace sluice::proxy::discovery::consul
