#include "proxy/prelude/trusted_sources.hpp"

#include <netinet/in.h>

#include <cstring>

namespace sluice::proxy {
namespace {

bool prefix_matches(const uint8_t* network, const uint8_t* address, unsigned bits) {
  const unsigned whole = bits / 8;
  if (std::memcmp(network, address, whole) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (network[whole] & mask) == (address[whole] & mask);
}

}  // namespace

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
    if (range.family == AF_INET && v4 != nullptr &&
        prefix_matches(range.bytes.data(), v4, range.prefix))
      return true;
    if (range.family == AF_INET6 && v6 != nullptr &&
        prefix_matches(range.bytes.data(), v6, range.prefix))
      return true;
  }
  return false;
}

}  // namespace sluice::proxy
