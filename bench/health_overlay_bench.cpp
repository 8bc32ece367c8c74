// Micro-benchmark for proxy/control/health/routing_overlay: what each cluster's snapshot build
// pays to decide routability, panic and slow-start weights (the control thread calls it per
// cluster per publication, not per request).
//   BM_RouteOverlay/N        N endpoints, a tenth failing, no slow start
//   BM_RouteOverlayRamp/N    the same with half of them inside a slow-start window
#include <benchmark/benchmark.h>

#include <vector>

#include "proxy/control/health/routing_overlay.hpp"

namespace sluice::proxy::health {
namespace {

constexpr limiter::Nanos kSecond = 1'000'000'000;

std::vector<OverlayEndpoint> endpoints(int64_t n, bool ramping) {
  std::vector<OverlayEndpoint> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    OverlayEndpoint& e = out[static_cast<size_t>(i)];
    e.weight = 1 + static_cast<uint32_t>(i % 3);
    e.health = i % 10 == 0 ? HealthStatus::unhealthy : HealthStatus::healthy;
    e.routable_since = ramping && i % 2 == 0 ? 100 * kSecond - (i % 30) * kSecond / 10 : 0;
  }
  return out;
}

void run(benchmark::State& state, bool ramping) {
  const std::vector<OverlayEndpoint> list = endpoints(state.range(0), ramping);
  RoutingPolicy policy;
  policy.slow_start = ramping ? 30 * kSecond : 0;
  for (auto _ : state) {
    ClusterRouting r = route_overlay(list, policy, false, 100 * kSecond);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_RouteOverlay(benchmark::State& state) {
  run(state, false);
}
void BM_RouteOverlayRamp(benchmark::State& state) {
  run(state, true);
}
BENCHMARK(BM_RouteOverlay)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_RouteOverlayRamp)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace sluice::proxy::health

BENCHMARK_MAIN();
