#include "proxy/stream/client_facts.hpp"

#include "proxy/core/socket.hpp"

namespace sluice::proxy {

void client_address(int fd, const ClientFacts* facts, char* ip, size_t size, uint16_t* port) {
  if (facts != nullptr && facts->proxied.ss_family != AF_UNSPEC) {
    sockaddr_ip(facts->proxied, ip, size, port);
    return;
  }
  peer_ip(fd, ip, size, port);
}

}  // namespace sluice::proxy
