#include "proxy/control/health/routing_overlay.hpp"

#include <algorithm>

namespace sluice::proxy::health {
namespace {

constexpr int kExitBandPercent = 10;  // panic hysteresis, in points of share
constexpr int64_t kSteps = 10;        // slow start's weight steps (tenths)

// The slow-start step (1..10 tenths) at `now`, and when it next rises.
struct Ramp {
  int64_t step = kSteps;
  std::optional<limiter::Nanos> next;
};

Ramp ramp(limiter::Nanos since, limiter::Nanos window, limiter::Nanos now) {
  if (window <= 0 || since == 0 || now - since >= window) return {};
  const limiter::Nanos elapsed = std::max<limiter::Nanos>(0, now - since);
  // Starts at a tenth (Envoy's min_weight_percent is 10%), then one more tenth per tenth of
  // the window: the first rise is at 2/10 of it, the last (to full weight) at its end.
  const int64_t step = std::max<int64_t>(1, elapsed * kSteps / window);
  return {step, since + (step + 1) * window / kSteps};
}

bool below(size_t healthy, size_t decided, int percent) {
  return static_cast<int64_t>(healthy) * 100 < static_cast<int64_t>(decided) * percent;
}

bool panics(size_t healthy, size_t decided, const RoutingPolicy& policy, bool was_panic) {
  const int threshold = policy.panic_threshold_percent;
  if (threshold <= 0 || decided == 0) return false;
  if (!was_panic) return below(healthy, decided, threshold);
  if (healthy == decided) return false;
  return below(healthy, decided, std::min(100, threshold + kExitBandPercent));
}

}  // namespace

RoutingPolicy RoutingPolicy::of(const config::Cluster& cluster) {
  RoutingPolicy policy;
  policy.panic_threshold_percent = cluster.panic.threshold_percent;
  policy.panic_mode = cluster.panic.mode;
  policy.slow_start =
      std::chrono::duration_cast<std::chrono::nanoseconds>(cluster.slow_start).count();
  return policy;
}

size_t ClusterRouting::routable() const {
  return static_cast<size_t>(std::count_if(endpoints.begin(), endpoints.end(),
                                           [](const EndpointRouting& e) { return e.routable; }));
}

ClusterRouting route_overlay(std::span<const OverlayEndpoint> endpoints,
                             const RoutingPolicy& policy, bool was_panic, limiter::Nanos now) {
  ClusterRouting out;
  out.endpoints.resize(endpoints.size());
  std::vector<bool> healthy(endpoints.size());
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const OverlayEndpoint& e = endpoints[i];
    healthy[i] = e.health == HealthStatus::healthy && !e.ejected;
    if (healthy[i]) ++out.healthy;
    if (e.health != HealthStatus::pending || e.ejected) ++out.decided;
  }
  if (!endpoints.empty() && out.decided == 0)
    out.mode = ClusterMode::warming;
  else if (panics(out.healthy, out.decided, policy, was_panic))
    out.mode = ClusterMode::panic;

  for (size_t i = 0; i < endpoints.size(); ++i) {
    bool routable = healthy[i];
    if (out.mode == ClusterMode::warming) routable = true;
    if (out.mode == ClusterMode::panic)
      routable = policy.panic_mode == config::Panic::Mode::route_all;
    if (!routable) continue;
    const Ramp r = ramp(endpoints[i].routable_since, policy.slow_start, now);
    EndpointRouting& routing = out.endpoints[i];
    routing.routable = true;
    routing.weight_tenths = endpoints[i].weight * static_cast<uint32_t>(r.step);
    routing.slow_start_factor = static_cast<double>(r.step) / kSteps;
    if (r.next && (!out.next_change || *r.next < *out.next_change)) out.next_change = r.next;
  }
  return out;
}

}  // namespace sluice::proxy::health
