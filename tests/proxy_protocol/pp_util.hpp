// What the PROXY protocol e2e tests share: headers written by hand (so a test controls every
// byte), a client socket bound to a chosen loopback source, and one request/response over it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "proxy/proxy_protocol/header.hpp"
#include "proxy/proxy_protocol/writer.hpp"
#include "tests/support/socket.hpp"

namespace sluice::testing {

// A connection to 127.0.0.1:port from `source` (any 127.x.y.z is ours on loopback), with
// Nagle off so that each send leaves as its own segment. Invalid on failure.
inline Socket connect_from(const char* source, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return Socket();
  }
  return Socket(fd);
}

inline sockaddr_storage ip_port(const char* ip, uint16_t port) {
  sockaddr_storage out{};
  if (std::string(ip).find(':') == std::string::npos) {
    auto& a = reinterpret_cast<sockaddr_in&>(out);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
  } else {
    auto& a = reinterpret_cast<sockaddr_in6&>(out);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
  }
  return out;
}

// A PROXY header naming client `ip:port` (to sluice's `listen_port`), v1 or v2 (with CRC32C).
inline std::string proxy_header(const char* ip, uint16_t port, uint16_t listen_port,
                                bool v2 = false) {
  proxy::proxy_protocol::Header h;
  h.version = v2 ? proxy::proxy_protocol::Version::v2 : proxy::proxy_protocol::Version::v1;
  h.source = ip_port(ip, port);
  h.destination =
      ip_port(std::string(ip).find(':') == std::string::npos ? "127.0.0.1" : "::1", listen_port);
  return proxy::proxy_protocol::write(h);
}

}  // namespace sluice::testing
