// Socket setup done once per listener per worker (control-path syscalls).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"

namespace sluice::proxy {

// A socket bound with SO_REUSEPORT, so every worker binds its own and the
// kernel spreads connections. Not listening yet: it joins the address's
// accept group, and takes connections, only once its worker calls
// start_listening(), so none wait in a backlog nobody serves. Returns -1 and
// sets `error` on failure.
int open_bound_socket(const config::Address& address, std::string& error);
bool start_listening(int fd);

// TCP_NODELAY: sluice forwards what it has at once; batching is the sender's business.
void set_nodelay(int fd);

// The peer's IP address as text ("127.0.0.1", "::1"); empty on failure.
// `port`, when given, receives the peer's port (0 on failure).
void peer_ip(int fd, char* out, size_t size, uint16_t* port = nullptr);

// The same from an address already at hand (a PROXY protocol header's).
void sockaddr_ip(const sockaddr_storage& address, char* out, size_t size, uint16_t* port = nullptr);

// "ip:port" or "[ip]:port" from peer_ip's results, for logs.
void format_address(const char* ip, uint16_t port, char* out, size_t size);

}  // namespace sluice::proxy
