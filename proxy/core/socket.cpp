#include "proxy/core/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sluice::proxy {

int open_bound_socket(const config::Address& address, std::string& error) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, address.sockaddr_ptr(), address.length) != 0) {
    error = "cannot bind " + address.text + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool start_listening(int fd) {
  return ::listen(fd, SOMAXCONN) == 0;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void peer_ip(int fd, char* out, size_t size, uint16_t* port) {
  out[0] = '\0';
  if (port != nullptr) *port = 0;
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return;
  sockaddr_ip(peer, out, size, port);
}

void sockaddr_ip(const sockaddr_storage& address, char* out, size_t size, uint16_t* port) {
  out[0] = '\0';
  if (port != nullptr) *port = 0;
  if (address.ss_family != AF_INET && address.ss_family != AF_INET6) return;
  const bool v6 = address.ss_family == AF_INET6;
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(&address);
  if (port != nullptr) *port = ntohs(v6 ? in6->sin6_port : in4->sin_port);
  const void* bytes =
      v6 ? static_cast<const void*>(&in6->sin6_addr) : static_cast<const void*>(&in4->sin_addr);
  if (inet_ntop(address.ss_family, bytes, out, static_cast<socklen_t>(size)) == nullptr)
    out[0] = '\0';
}

void format_address(const char* ip, uint16_t port, char* out, size_t size) {
  const bool v6 = std::strchr(ip, ':') != nullptr;
  std::snprintf(out, size, v6 ? "[%s]:%u" : "%s:%u", ip, static_cast<unsigned>(port));
}

}  // namespace sluice::proxy
