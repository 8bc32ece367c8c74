// What each cluster publishes: its endpoints (discovered, else configured) with the health
// overlay applied: active-check verdicts, panic (with its hysteresis, remembered per
// cluster) and slow start (weights counted in tenths while a cluster has a window). It also
// keeps the health checks' targets in step with the endpoints before every build, and logs
// each cluster's entry into and exit from panic. An endpoint present since sluice started
// takes traffic until its first check says otherwise; one added later waits for its first
// verdict. Outlier ejections are not part of the
// panic share: they have their own cap (max_ejected_percent). Control thread only.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "limiter/decision.hpp"
#include "proxy/control/discoveries.hpp"
#include "proxy/control/health/health_checks.hpp"
#include "proxy/control/snapshot_builder.hpp"

namespace sluice::proxy {

class EndpointOverlay {
 public:
  EndpointOverlay(const Discoveries& discoveries, health::HealthChecks& health)
      : discoveries_(discoveries), health_(health) {}

  // Before a build from `config`: the health checks learn each cluster's check and present
  // endpoints; clusters gone (or without checks) release their targets.
  void sync(const config::Config& config);
  // The builder's ClusterMembers, at `now` (steady clock ns).
  std::vector<PublishedEndpoint> members(const config::Cluster& cluster, limiter::Nanos now);
  // Once the first snapshot is built: endpoints that join from now on are new (slow start).
  void initial_load_done();

  // After the last build: whether the cluster is in panic (none: it has no health check).
  std::optional<bool> panic(const std::string& cluster) const;
  // An endpoint's active check for GET /clusters: status, since when, the last results and
  // the counts by outcome; null when no check covers it.
  boost::json::value json(const std::string& cluster, const config::Address& address) const;
  // The earliest slow-start step any cluster waits for; none: no ramp runs.
  std::optional<limiter::Nanos> next_change() const;

 private:
  struct ClusterState {
    bool panic = false;
    std::optional<limiter::Nanos> next_change;
    // When each endpoint joined (0: present at start): slow start without active checks.
    std::map<std::string, limiter::Nanos> joined;
  };
  const std::vector<config::Endpoint>& endpoints_of(const config::Cluster& cluster) const;
  void log_panic_change(const std::string& cluster, bool panic, size_t healthy, size_t decided,
                        size_t present, const config::Cluster& config) const;

  const Discoveries& discoveries_;
  health::HealthChecks& health_;
  std::map<std::string, ClusterState> clusters_;
  std::set<std::string> checked_;  // clusters the health checks know
  bool initial_ = true;
};

}  // namespace sluice::proxy
