// The factory of a listener with `proxy_protocol`: it wraps the listener's own factory (TCP
// relay or HTTP), refuses connections from outside the trusted ranges at accept, and gives
// every other one a ProxyPrelude that reads the header before the wrapped factory sees the
// connection. Chosen when the snapshot is built (control thread); workers read it.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "proxy/session/session.hpp"

namespace sluice::proxy {

class ProxyProtocolListener final : public SessionFactory {
 public:
  ProxyProtocolListener(const config::Listener& config, std::unique_ptr<SessionFactory> inner)
      : config(config), accept(*config.proxy_protocol), inner(std::move(inner)) {}

  // Only a trusted source may name another client: any other connection is closed unanswered
  // (counted as "untrusted" and logged), never served as if it had sent no header.
  bool admit(int fd, const ClientFacts* facts, SessionHost& host) const override;
  Session* create(SessionHost& host, std::unique_ptr<Stream> client) const override;

  const config::Listener& config;
  const config::ProxyProtocolAccept& accept;
  const std::unique_ptr<SessionFactory> inner;  // runs once the header is read
};

}  // namespace sluice::proxy
