// A `protocol: tcp` listener of one snapshot: its cluster and its connection
// rate limit, and the factory that turns each accepted socket into a relay.
// Built on the control thread; workers read it.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "proxy/session/rate_limit.hpp"
#include "proxy/session/session.hpp"
#include "proxy/upstream/cluster.hpp"

namespace sluice::proxy {

class TcpListener final : public SessionFactory {
 public:
  TcpListener(const config::Listener& config, const ClusterRuntime& cluster,
              const RateLimitRuntime* rate_limit)
      : config(config), cluster(cluster), rate_limit(rate_limit) {}

  // The listener's rate limit counts connections, decided before anything is allocated.
  bool admit(int fd, const ClientFacts* facts, SessionHost& host) const override;
  Session* create(SessionHost& host, std::unique_ptr<Stream> client) const override;

  const config::Listener& config;
  const ClusterRuntime& cluster;
  const RateLimitRuntime* const rate_limit;  // null: none
};

}  // namespace sluice::proxy
