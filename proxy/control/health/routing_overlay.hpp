// Which of a cluster's present endpoints take traffic, and with what weight, from their
// health verdicts, outlier ejections, the cluster's panic settings and slow start. Pure: the
// time and the cluster's previous panic state are arguments, so every case is a unit test.
//
//   routable   <=> present, its check not failing (pending: not yet), not ejected.
//   share      =   routable / endpoints with a verdict. Pending endpoints count neither way:
//                  they have not said anything yet. (An ejected pending endpoint has.)
//   warming    =   no endpoint has a verdict yet (a new cluster, sluice starting): every
//                  present endpoint takes traffic, whatever `panic` says; not a panic.
//   panic      =   share < panic_threshold (0: never). route_all: every present endpoint
//                  takes traffic, ejected or failing, rather than overload the few left
//                  (Envoy); fail_closed: none does. Hysteresis: a panicking cluster leaves
//                  panic only when share >= panic_threshold + 10 points, or all are routable.
//   slow start =   an endpoint that became routable at `routable_since` (new or recovered;
//                  0: present since sluice started) gets weight x max(0.1, elapsed / window),
//                  in steps of a tenth, so a ramp is at most 9 republishes and every weight is
//                  an exact integer in tenths.
// Any thread (no state); the control thread calls it when it builds a snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/health/health_state.hpp"

namespace sluice::proxy::health {

struct OverlayEndpoint {
  uint32_t weight = 1;                          // as configured or discovered
  HealthStatus health = HealthStatus::healthy;  // healthy when no active check covers it
  bool ejected = false;                         // by outlier detection, now
  // When it last became routable (EndpointHealth::routable_since, or when it joined a
  // cluster without checks after start-up); 0: no slow start.
  limiter::Nanos routable_since = 0;
};

struct RoutingPolicy {
  int panic_threshold_percent = 50;  // 0: never panic
  config::Panic::Mode panic_mode = config::Panic::Mode::route_all;
  limiter::Nanos slow_start = 0;  // window; 0: off
  static RoutingPolicy of(const config::Cluster& cluster);
};

struct EndpointRouting {
  bool routable = false;
  uint32_t weight_tenths = 0;      // weight x 10 x slow-start factor; 0 when not routable
  double slow_start_factor = 1.0;  // 0.1 .. 1.0, for /clusters
  double weight() const { return weight_tenths / 10.0; }
};

enum class ClusterMode { normal, warming, panic };

struct ClusterRouting {
  std::vector<EndpointRouting> endpoints;  // in the order of the input
  ClusterMode mode = ClusterMode::normal;
  size_t healthy = 0;  // routable by the rule above (before panic or warming applies)
  size_t decided = 0;  // endpoints with a verdict: the share's denominator
  // The next time a slow-start weight steps up; nullopt: no ramp running. Build again then.
  std::optional<limiter::Nanos> next_change;
  bool panic() const { return mode == ClusterMode::panic; }
  size_t routable() const;
};

// `was_panic`: the panic state the previous call returned for this cluster (false at first).
ClusterRouting route_overlay(std::span<const OverlayEndpoint> endpoints,
                             const RoutingPolicy& policy, bool was_panic, limiter::Nanos now);

}  // namespace sluice::proxy::health
