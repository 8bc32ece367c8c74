// GET /clusters: every cluster of a snapshot with its live state (breaker, limits, outlier
// ejections, per-endpoint in-flight counts) as JSON.
//
// Threads: the control thread, while the snapshot is alive. It reads the shared atomics the
// workers are writing (relaxed), so counts are recent, not a consistent cut across endpoints.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include "proxy/worker/snapshot.hpp"

namespace sluice::proxy::admin {

// What the control plane adds about a cluster's discovery (its source, version, staleness);
// null for a cluster without discovery.
using DiscoveryJson = std::function<boost::json::value(const std::string& cluster)>;
// What the control plane adds about one endpoint (its active health check); null: nothing.
using EndpointJson =
    std::function<boost::json::value(const std::string& cluster, const config::Address& address)>;

// `now_ns` is the clock the workers stamp ejections with (limiter::Nanos, steady clock).
std::string clusters_json(const Snapshot& snapshot, int64_t now_ns,
                          const DiscoveryJson& discovery = {}, const EndpointJson& endpoint = {});

}  // namespace sluice::proxy::admin
