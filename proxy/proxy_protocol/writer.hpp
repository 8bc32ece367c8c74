// Writes the PROXY protocol header sluice sends ahead of an upstream connection's first
// byte: v1 text, or v2 binary with the usual TLVs (ALPN, authority, SSL when the header has
// them) and a CRC32C TLV so the receiver can check it. Any thread.
#pragma once

#include <string>

#include "proxy/proxy_protocol/header.hpp"

namespace sluice::proxy::proxy_protocol {

// `header.source`/`destination`: the client's address and the address it connected to, both
// of one family; when they are not (AF_UNSPEC, or mixed), v1 says UNKNOWN and v2 carries no
// addresses (still PROXY, so its TLVs reach the upstream). `header.version` picks the format.
std::string write(const Header& header);

}  // namespace sluice::proxy::proxy_protocol
