// Builds the Snapshot the workers run from, on the control thread: clusters
// (endpoint lists, balancers, shared state), rate limits, and per listener the
// session factory of its protocol. A new protocol or transport is a new
// factory chosen here; the worker never learns which one it runs.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/state_store.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/worker/snapshot.hpp"

namespace sluice::proxy {

// One endpoint as the control plane publishes it: discovered or configured, with the weight
// it runs at (slow start scales it) and whether balancers may pick it (active health checks,
// panic).
struct PublishedEndpoint {
  config::Endpoint endpoint;
  bool routable = true;
};
// What each cluster publishes (endpoint_overlay.hpp). An empty function: every cluster its
// config's endpoints, all routable.
using ClusterMembers = std::function<std::vector<PublishedEndpoint>(const config::Cluster&)>;

// Null with `error` set when a cluster's balancer cannot be built. State and
// stats come from `state` and `metrics`, so names that stay keep theirs (the
// running snapshot must still be alive while the next is built).
std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const config::Config> config,
                                               StateStore& state, metrics::Registry& metrics,
                                               std::string& error,
                                               const ClusterMembers& members = {});

}  // namespace sluice::proxy
