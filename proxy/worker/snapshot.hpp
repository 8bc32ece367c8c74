// What the workers run from: a validated Config plus everything derived from it
// once, on the control thread (control/snapshot_builder.cpp): clusters with
// their balancers and shared state, rate limits, and per listener the factory
// that turns its connections into sessions. Immutable once published; workers
// only read it, and never learn which protocol a factory speaks.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/session/rate_limit.hpp"
#include "proxy/session/session.hpp"
#include "proxy/tls/listener_tls.hpp"
#include "proxy/upstream/cluster.hpp"

namespace sluice::proxy {

struct ListenerRuntime {
  const config::Listener* config = nullptr;
  std::shared_ptr<metrics::ListenerStats> stats;
  std::unique_ptr<SessionFactory> factory;
  // Null for plaintext. Each accepted connection gets a TLS transport over it before its
  // session is made, so the factory's session sees plaintext only.
  std::shared_ptr<const tls::ListenerTls> tls;
};

struct Snapshot {
  std::shared_ptr<const config::Config> config;
  // Deques: factories and routes point at their elements.
  std::deque<ClusterRuntime> clusters;
  std::deque<RateLimitRuntime> rate_limits;
  std::vector<ListenerRuntime> listeners;

  const ClusterRuntime* find_cluster(const std::string& name) const;
  const RateLimitRuntime* find_rate_limit(const std::string& name) const;
};

}  // namespace sluice::proxy
