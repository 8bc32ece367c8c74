// Helpers of the admin server tests.
#pragma once

#include <arpa/inet.h>

#include <string>

#include "config/config.hpp"
#include "proxy/control/admin/admin_server.hpp"

namespace sluice::proxy::admin::test {

// By hand: the config parser rightly refuses port 0, which tests need for a free port.
inline config::Address loopback(uint16_t port) {
  config::Address a;
  a.text = "127.0.0.1:" + std::to_string(port);
  auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.length = sizeof(sockaddr_in);
  return a;
}

inline AdminResponse text(std::string body) {
  AdminResponse r;
  r.body = std::move(body);
  return r;
}

}  // namespace sluice::proxy::admin::test
