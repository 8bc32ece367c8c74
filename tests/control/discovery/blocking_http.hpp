// One HTTP/1.1 request from a test thread to a loopback server (etcd's gateway, the fake
// Consul), answered in full: how the tests change what a discovery source watches.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::testing {

struct HttpAnswer {
  unsigned status = 0;  // 0: no (parseable) answer
  std::string body;
};

HttpAnswer http_call(uint16_t port, const std::string& method, const std::string& target,
                     const std::string& body = "");

}  // namespace sluice::testing
