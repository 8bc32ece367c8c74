// libFuzzer target for the DNS source's own walk over answers (proxy/control/discovery/
// dns_answer): any bytes as an answer packet to every function that reads wire data (the
// TTL walk is ours; c-ares parses the records). None may crash or read outside the packet;
// addresses are IP addresses, SRV records are one priority group without "." targets, and a
// canonical set is sorted with one endpoint per address.
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "proxy/control/discovery/dns_answer.hpp"

namespace discovery = sluice::proxy::discovery;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool is_ip(const std::string& text, int family) {
  unsigned char scratch[16];
  return ::inet_pton(family, text.c_str(), scratch) == 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes, so ASan sees any read past the packet's end.
  const std::vector<unsigned char> packet(data, data + size);
  const std::span<const unsigned char> answer(packet);

  if (const auto ttl = discovery::min_answer_ttl(answer))
    check(*ttl <= uint32_t{std::numeric_limits<int32_t>::max()});

  std::vector<discovery::DiscoveredEndpoint> set;
  for (const int type : {ns_t_a, ns_t_aaaa}) {
    std::string error;
    const auto addresses = discovery::parse_addresses(answer, type, &error);
    for (const auto& a : addresses) {
      check(is_ip(a, type == ns_t_a ? AF_INET : AF_INET6));
      set.push_back({discovery::endpoint_address(a, 80), 1});
    }
  }

  std::string error;
  const auto srv = discovery::parse_srv(answer, &error);
  if (!error.empty()) check(srv.empty());
  for (const auto& r : srv) {
    check(r.priority == srv.front().priority);
    check(!r.target.empty() && r.target != ".");
    set.push_back({discovery::endpoint_address(r.target, r.port), r.weight});
  }

  discovery::canonicalize(set);
  for (size_t i = 1; i < set.size(); ++i) check(set[i - 1].address < set[i].address);
  return 0;
}
