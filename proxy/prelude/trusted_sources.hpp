// Whether a connection's source lies in a listener's `proxy_protocol.trusted` ranges. An IPv4
// client of a dual-stack ([::]) listener arrives as ::ffff:a.b.c.d and is matched against the
// IPv4 ranges too. Any thread.
#pragma once

#include <sys/socket.h>

#include <vector>

#include "config/config.hpp"

namespace sluice::proxy {

bool is_trusted(const std::vector<config::Cidr>& ranges, const sockaddr_storage& source);

}  // namespace sluice::proxy
