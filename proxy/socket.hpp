// Socket setup done once per listener per worker (control-path syscalls).
#pragma once

#include <string>

#include "config/config.hpp"

namespace sluice::proxy {

// A listening socket with SO_REUSEPORT, so every worker binds its
// own and the kernel spreads connections. Returns -1 and sets `error` on failure.
int open_listen_socket(const config::Address& address, std::string& error);

// The peer's IP address as text ("127.0.0.1", "::1"); empty on failure.
void peer_ip(int fd, char* out, size_t size);

}  // namespace sluice::proxy
