// The endpoint sources and health settings of a cluster (clusters[].discovery,
// clusters[].dns, clusters[].health_check, panic): part of the typed Config (config.hpp
// includes it; include config.hpp, not this).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "config/values.hpp"

namespace sluice::config {

struct FileDiscovery {
  std::string path;
  // How often the file is also re-read in case inotify said nothing (bind mounts, NFS).
  Duration poll_interval{5000};
};
struct DnsDiscovery {
  std::string name;
  std::string type = "A";  // A | AAAA | SRV
  uint16_t port = 0;       // for A/AAAA
  // Where to ask; empty: the system's resolvers (/etc/resolv.conf).
  std::vector<Address> resolvers;
  // Answers are re-resolved when their smallest TTL expires, clamped to [min_ttl, max_ttl];
  // NXDOMAIN/NODATA ("no endpoints") is asked again after negative_ttl.
  Duration min_ttl{1000};
  Duration max_ttl{300000};
  Duration negative_ttl{5000};
  Duration timeout{2000};  // one try of one query (c-ares retries once, doubling it)
};
struct EtcdDiscovery {
  std::vector<Address> endpoints;  // tried in turn: the next one after a failure
  std::string prefix;
  Duration timeout{5000};    // connect + answer of one request (list, probe, watch head)
  Duration watchdog{10000};  // a watch silent this long, its server not answering: stale
};
// Consul's health API (blocking queries on /v1/health/service/<service>?passing).
struct ConsulDiscovery {
  Address address;  // a Consul agent's HTTP API, ip:port
  std::string service;
  std::string tag;         // only instances with this tag; empty: all
  std::string datacenter;  // empty: the agent's own
  Duration wait{60000};    // how long one blocking query may wait for a change (<= 10 min)
  Duration timeout{5000};  // connect + answer beyond `wait`
};
using Discovery = std::variant<FileDiscovery, DnsDiscovery, EtcdDiscovery, ConsulDiscovery>;

// What stands between any discovery source and its cluster (proxy/control/discovery's
// UpdateGuard): an update removing all endpoints, or at least `hold_fraction` of them, waits
// `confirm_window` and applies only if the source still says so.
struct DiscoveryGuard {
  Duration confirm_window{30000};
  double hold_fraction = 0.5;
};

// An inclusive range of HTTP statuses a health check accepts ("200-399", or 204 alone).
struct StatusRange {
  int low = 200;
  int high = 399;
  bool operator==(const StatusRange&) const = default;
};

// An active check of every endpoint of a cluster (proxy/control/health/). Clusters whose
// endpoints share an address and an equal check share one probe stream.
struct HealthCheck {
  enum class Kind { tcp, http } kind = Kind::tcp;
  std::string http_path = "/healthz";
  std::string http_host;  // Host header; empty: the endpoint's address ("10.0.0.5:8080")
  // Like HAProxy's httpchk and nginx: any 2xx or 3xx passes (Envoy's default is 200 only).
  std::vector<StatusRange> http_expect = {StatusRange{}};
  Duration interval{2000};
  Duration timeout{1000};
  int healthy = 2;
  int unhealthy = 3;
  int jitter_percent = 10;  // each interval is interval +- this share, so probes spread out
  bool operator==(const HealthCheck&) const = default;
};

// What a cluster does when too few of its endpoints are routable (Envoy's panic threshold).
struct Panic {
  int threshold_percent = 50;  // 0: never panic
  // route_all: balance over every present endpoint, failing or not, rather than overload the
  // few left; fail_closed: route to none (503) instead.
  enum class Mode { route_all, fail_closed } mode = Mode::route_all;
};
}  // namespace sluice::config
