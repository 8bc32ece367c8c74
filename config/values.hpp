// The value types a config is made of: durations, socket addresses, rates, address ranges. Part of
// the typed Config (config.hpp includes it).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace sluice::config {

using Duration = std::chrono::milliseconds;

// A numeric socket address ("127.0.0.1:8080", "[::1]:8080", "localhost:80").
struct Address {
  std::string text;  // as written in the config, for logs and errors
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};

// "100/s", "600/min": `count` events per `per`.
struct Rate {
  uint64_t count = 0;
  Duration per{1000};
};

// A client address range: "10.0.0.0/8", "2001:db8::/32"; a bare address is a /32 or /128
// (config/cidr.hpp parses it). Access rules, trusted proxies and PROXY protocol sources.
struct Cidr {
  std::string text;  // as written, for logs and /config
  int family = AF_INET;
  std::array<uint8_t, 16> bytes{};  // network order, bits past `prefix` zero
  uint8_t prefix = 0;
};

}  // namespace sluice::config
