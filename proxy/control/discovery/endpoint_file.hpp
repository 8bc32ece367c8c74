// The file discovery source's format: a YAML (or JSON, which YAML reads) list of endpoints,
// at the top level or under `endpoints:`. Each is an "ip:port" string or a map with
// `address` ("10.0.0.7", "10.0.0.7:8080", "[2001:db8::7]:8080"), `port` (when the address has
// none), `weight` (1-65535, default 1) and `metadata` (a map, kept for people, unused). A
// zero-length file, unknown keys, a host name, a duplicate address: errors with line:col,
// so a truncated or mistyped file never becomes a smaller set (the guard keeps the last good
// one). An explicit empty list is a valid empty set. Control thread; pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/control/discovery/update_guard.hpp"

namespace sluice::proxy::discovery {

struct EndpointFile {
  std::vector<DiscoveredEndpoint> endpoints;
  std::string error;  // "path:line:col: message"; empty when the file is good
  bool ok() const { return error.empty(); }
};

EndpointFile parse_endpoint_file(std::string_view text, const std::string& path);

}  // namespace sluice::proxy::discovery
