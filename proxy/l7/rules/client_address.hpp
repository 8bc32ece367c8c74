// Who the client is, for access rules and keys: a parsed address, whether a CIDR list holds
// it, and the real client behind trusted proxies (X-Forwarded-For). Pure functions over
// immutable config data; any thread, no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "proxy/l7/h1/message.hpp"

namespace sluice::proxy::rules {

struct IpAddress {
  int family = 0;  // AF_INET, AF_INET6; 0: not an address
  std::array<uint8_t, 16> bytes{};
};

// "10.1.2.3", "::1", "[::1]"; an IPv4-mapped IPv6 address (what a dual-stack socket reports
// for an IPv4 client) becomes that IPv4 address, so one IPv4 range covers both.
IpAddress parse_ip(std::string_view text);

bool in_cidr(const IpAddress& ip, const config::Cidr& cidr);
bool in_any(const IpAddress& ip, const std::vector<config::Cidr>& cidrs);

// An address that is not one (family 0) is refused by any rule with allow or deny entries:
// failing closed is the safe reading of "we cannot tell who this is".
bool allowed(const config::AccessControl& access, const IpAddress& ip);

// The client behind trusted proxies. When `peer` is in `trusted`, the X-Forwarded-For fields
// are walked from the right (the nearest hop first), skipping trusted addresses; the first
// one that is not trusted is the client. If every hop is trusted the left-most is; an entry
// that is not an address stops the walk at the hop after it, since what lies left of a
// garbled entry cannot be trusted. Otherwise the peer. Returns a view into `peer` or into a
// header value of `head`; `*ip` is set to its parsed form.
std::string_view real_client(std::string_view peer, const IpAddress& peer_ip,
                             const std::vector<config::Cidr>& trusted, const http::Head& head,
                             IpAddress* ip);

}  // namespace sluice::proxy::rules
