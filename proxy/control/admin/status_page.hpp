// GET / on the admin listener: one page an operator reads at a glance. Plain HTML with inline
// CSS (no scripts, no other requests, so it works from a jump host's text browser too and a
// strict Content-Security-Policy can forbid everything else); it reloads itself every 5 s.
// StatusPage is what the page shows, read by the control plane (admin_status.cpp) from the
// same sources /clusters and /metrics read; render_status_page only formats it.
// Pure: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/control/admin/cluster_view.hpp"

namespace sluice::proxy::admin {

struct StatusPage {
  struct Process {
    enum class State { starting, serving, draining } state = State::starting;
    std::string version;
    double uptime_seconds = 0;
    unsigned workers = 0;
    std::string config_hash;  // hex SHA-256 of the running config file
    uint64_t reloads_succeeded = 0;
    uint64_t reloads_failed = 0;
    // The Redis of global rate limits: none configured, not answered yet, up, down.
    enum class Redis { none, connecting, up, down } redis = Redis::none;
    std::string generated_at;  // when this reading was taken, e.g. "2025-01-02 03:04:05 UTC"
  };
  // Totals since start and rates over `rate_seconds` (since start when that is 0).
  struct Traffic {
    uint64_t requests = 0;
    uint64_t errors = 0;  // 5xx
    double per_second = 0;
    double errors_per_second = 0;
  };
  struct Cluster {
    ClusterView view;
    Traffic traffic;  // requests sent to its endpoints (connections, TCP); 5xx they answered
    uint64_t connect_failures = 0;  // since start: refused or timed-out connects (no answer)
  };
  struct Route {
    std::string listener, route, cluster;  // cluster "": answered by sluice itself
    uint64_t responses = 0, errors = 0;
  };
  struct RateLimit {
    std::string name, algorithm, scope, rate, key;  // as the config writes them
    uint64_t admitted = 0, limited = 0;
  };
  struct Listener {
    std::string name, protocol, address;
    bool tls = false;
    int64_t open = 0;  // client connections open now
    uint64_t accepted = 0;
  };

  Process process;
  double rate_seconds = 0;
  Traffic http;  // responses sent to clients, every route together
  std::vector<Cluster> clusters;
  std::vector<Route> routes;
  std::vector<RateLimit> rate_limits;
  std::vector<Listener> listeners;
};

// The whole document. Every string of `page` is escaped (html_escape.hpp).
std::string render_status_page(const StatusPage& page);

// "healthy", "ejected", "backing off": what the page calls an endpoint's state. Ejection
// wins: an ejected endpoint is not picked even when it is also backing off.
const char* endpoint_state(const EndpointView& endpoint);

}  // namespace sluice::proxy::admin
