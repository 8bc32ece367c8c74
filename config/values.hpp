// The value types a config is made of: durations, socket addresses, rates. Part of the typed
// Config (config.hpp includes it).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

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

}  // namespace sluice::config
