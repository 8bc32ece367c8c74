// The PROXY protocol header an upstream connection of a cluster with `proxy_protocol: v1|v2`
// starts with: the client's address (a received PROXY header's, else the socket's peer), the
// address it reached (ditto), and for v2 the client's ALPN, SNI (authority) and TLS facts.
// Worker thread only.
#pragma once

#include <string>

#include "config/config.hpp"
#include "proxy/stream/stream.hpp"

namespace sluice::proxy {

// `client`: the client's stream, or null when there is none (then v1 UNKNOWN / v2 without
// addresses).
std::string proxy_header(config::ProxyProtocolSend version, const Stream* client);

}  // namespace sluice::proxy
