#include "proxy/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::proxy {

int open_listen_socket(const config::Address& address, std::string& error) {
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
  if (::listen(fd, SOMAXCONN) != 0) {
    error = "cannot listen on " + address.text + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

void peer_ip(int fd, char* out, size_t size) {
  out[0] = '\0';
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return;
  const void* address =
      peer.ss_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr);
  if (inet_ntop(peer.ss_family, address, out, static_cast<socklen_t>(size)) == nullptr)
    out[0] = '\0';
}

}  // namespace sluice::proxy
