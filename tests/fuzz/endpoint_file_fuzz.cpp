// libFuzzer target for the file discovery source's format (operators and their tools write
// these files, sometimes half-way): any bytes give a set or an error with a position, never a
// crash, a hang or an exception; a set has only valid, distinct addresses and weights.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "config/scalars.hpp"
#include "proxy/control/discovery/endpoint_file.hpp"

using sluice::proxy::discovery::EndpointFile;
using sluice::proxy::discovery::parse_endpoint_file;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const EndpointFile f = parse_endpoint_file(text, "f.yaml");
  if (!f.ok()) {
    check(f.endpoints.empty());
    check(f.error.rfind("f.yaml", 0) == 0);
    return 0;
  }
  std::set<std::string> seen;
  for (const auto& e : f.endpoints) {
    check(static_cast<bool>(sluice::config::parse_address(e.address)));
    check(e.weight >= 1 && e.weight <= 65535);
    check(seen.insert(e.address).second);
  }
  return 0;
}
