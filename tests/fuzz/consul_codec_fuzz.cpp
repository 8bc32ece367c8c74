// libFuzzer target for what the Consul source reads off the network (proxy/control/discovery/
// consul_codec): the health API's answer and the X-Consul-Index header, from any bytes. None
// may crash, hang or throw; the endpoints are distinct addresses the data path can use with
// weights 1-65535, and the next index never goes backwards (it starts over at 0 instead).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>

#include "config/scalars.hpp"
#include "proxy/control/discovery/consul_codec.hpp"

namespace consul = sluice::proxy::discovery::consul;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const consul::HealthAnswer answer = consul::parse_health_answer(text);
  if (!answer.error.empty()) check(answer.endpoints.empty() && answer.skipped.empty());
  std::set<std::string> seen;
  for (const auto& e : answer.endpoints) {
    check(static_cast<bool>(sluice::config::parse_address(e.address)));
    // inet_pton reads a C string: what follows a NUL would ride along unchecked.
    check(e.address.find('\0') == std::string::npos);
    check(e.weight >= 1 && e.weight <= 65535);
    check(seen.insert(e.address).second);
  }

  // The first 8 bytes are the index just used, the rest is the header's value.
  uint64_t previous = 0;
  const size_t head = std::min(size, sizeof previous);
  std::memcpy(&previous, data, head);
  const std::string_view header = text.substr(head);
  const uint64_t next = consul::next_index(previous, header);
  check(next == 0 || next >= previous);
  if (next != 0) check(header.find_first_not_of("0123456789") == std::string_view::npos);
  return 0;
}
