// The PROXY protocol's part of the typed Config (config.hpp): what a listener accepts and what
// a cluster sends. Plain data; built on the control thread, read by workers.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/values.hpp"

namespace sluice::config {

// `listeners[].proxy_protocol`: a PROXY protocol header (v1 or v2, told apart by its first
// byte) is required ahead of every connection, and only from a `trusted` source; a connection
// from anywhere else, or whose header does not arrive whole within `timeout`, is closed.
struct ProxyProtocolAccept {
  std::vector<Cidr> trusted;
  std::chrono::milliseconds timeout{5000};
};

// `clusters[].proxy_protocol`: the header sluice sends ahead of each upstream connection. Such
// a connection names one client, so it is bound to that client's connection (pooled for it
// alone, closed with it).
enum class ProxyProtocolSend { off, v1, v2 };

}  // namespace sluice::config
