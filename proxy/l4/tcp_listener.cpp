#include "proxy/l4/tcp_listener.hpp"

#include <netinet/in.h>

#include "proxy/core/log.hpp"
#include "proxy/core/socket.hpp"
#include "proxy/l4/tcp_relay.hpp"

namespace sluice::proxy {

bool TcpListener::admit(int fd, const ClientFacts* facts, SessionHost& host) const {
  if (rate_limit == nullptr) return true;
  char ip[INET6_ADDRSTRLEN] = "";
  client_address(fd, facts, ip, sizeof ip);
  // A connection has no headers or route: those parts of a combined key hash as empty.
  const config::RateLimit& limit = *rate_limit->config;
  uint64_t key = limit_key(limit.key, {}, ip, 0);
  for (const config::RateLimitKey& part : limit.more_keys)
    key = combine_limit_keys(key, limit_key(part, {}, ip, 0));
  const limiter::Decision d = rate_limit->admit(key, host.worker_index());
  if (!d.admitted)
    LOG_DEBUG("listener %s: connection from %s refused by rate limit %s", config.name.c_str(), ip,
              rate_limit->config->name.c_str());
  return d.admitted;
}

Session* TcpListener::create(SessionHost& host, std::unique_ptr<Stream> client) const {
  return new TcpRelay(host, *this, std::move(client));
}

}  // namespace sluice::proxy
