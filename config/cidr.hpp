// Client address ranges as written in access rules and trusted_proxies: "10.0.0.0/8",
// "2001:db8::/32", or a bare address (a /32 or /128). A pure string parser; any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/config.hpp"
#include "config/scalars.hpp"

namespace sluice::config {

// Refuses host bits set past the prefix ("10.0.0.1/8"): such a range was probably meant to be
// something else, and nginx's silent truncation hides the typo. An IPv4-mapped IPv6 range
// (::ffff:10.0.0.0/104) is kept as the IPv4 range it names, as client addresses are.
Parsed<Cidr> parse_cidr(std::string_view text);

// Whether `address` (network order: 4 bytes for AF_INET, 16 for AF_INET6) of `family` lies
// in `cidr`. Different families never match; callers fold IPv4-mapped addresses first.
bool cidr_contains(const Cidr& cidr, int family, const uint8_t* address);

}  // namespace sluice::config
