#include "proxy/prelude/trusted_sources.hpp"

#include <netinet/in.h>

#include "config/cidr.hpp"

namespace sluice::proxy {

bool is_trusted(const std::vector<config::Cidr>& ranges, const sockaddr_storage& source) {
  const uint8_t* v4 = nullptr;
  const uint8_t* v6 = nullptr;
  if (source.ss_family == AF_INET) {
    v4 = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in&>(source).sin_addr);
  } else if (source.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(source).sin6_addr;
    v6 = reinterpret_cast<const uint8_t*>(&a);
    if (IN6_IS_ADDR_V4MAPPED(&a)) v4 = v6 + 12;
  } else {
    return false;  // no address (the peer has gone): nothing to trust
  }
  for (const config::Cidr& range : ranges) {
    if (v4 != nullptr && config::cidr_contains(range, AF_INET, v4)) return true;
    if (v6 != nullptr && config::cidr_contains(range, AF_INET6, v6)) return true;
  }
  return false;
}

}  // namespace sluice::proxy
