#include "proxy/prelude/proxy_protocol_listener.hpp"

#include "proxy/core/log.hpp"
#include "proxy/core/socket.hpp"
#include "proxy/prelude/proxy_prelude.hpp"
#include "proxy/prelude/trusted_sources.hpp"

namespace sluice::proxy {

bool ProxyProtocolListener::admit(int fd, const ClientFacts*, SessionHost& host) const {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) == 0 &&
      is_trusted(accept.trusted, peer))
    return true;
  host.counters().refused_by(metrics::ProxyRefusal::untrusted);
  char ip[INET6_ADDRSTRLEN] = "";
  sockaddr_ip(peer, ip, sizeof ip);
  // Throttled: a scan from an untrusted network must not cost a line per connection.
  LOG_WARN_THROTTLED("listener %s: connection from %s refused: not in proxy_protocol.trusted",
                     config.name.c_str(), ip[0] != '\0' ? ip : "an unknown address");
  return false;
}

Session* ProxyProtocolListener::create(SessionHost& host, std::unique_ptr<Stream> client) const {
  return new ProxyPrelude(host, *this, std::move(client));
}

}  // namespace sluice::proxy
