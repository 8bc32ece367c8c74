// One endpoint as a key-value store holds it (etcd: one key per endpoint): the JSON object
// {"address": "10.0.0.7", "port": 8080, "weight": 2, "metadata": {...}}, where the address
// may carry the port ("10.0.0.7:8080", "[2001:db8::7]:8080") and weight (1-65535) defaults
// to 1. Unknown keys are ignored, so writers may add their own next to metadata. Host names
// are refused: discovery hands the data path addresses, never names. Control thread; pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/control/discovery/update_guard.hpp"

namespace sluice::proxy::discovery {

struct EndpointValue {
  std::optional<DiscoveredEndpoint> endpoint;
  std::string error;  // why the value is not an endpoint, when endpoint is empty
};

EndpointValue parse_endpoint_value(std::string_view json);

// "10.0.0.7" + 8080 -> "10.0.0.7:8080", "2001:db8::7" -> "[2001:db8::7]:8080"; nullopt when
// `ip` is not an IPv4 or IPv6 address. Consul's Service.Address + Service.Port meet here too.
std::optional<std::string> join_ip_port(std::string_view ip, uint16_t port);

}  // namespace sluice::proxy::discovery
