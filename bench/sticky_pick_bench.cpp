// Micro-benchmark of what cookie stickiness adds to an HTTP request's endpoint pick (issue
// #14): finding the cookie among the request's cookies and its endpoint in the snapshot's
// table, then taking that endpoint (routable checks) instead of asking the balancer.
//   BM_BalancerPick/N     the baseline: a round-robin pick over N endpoints (EndpointPicker)
//   BM_StickyPick/N       cookie lookup (5 cookies in the header) + table find + take
//   BM_StickyMiss/N       a cookie naming no endpoint of this snapshot, then the balancer
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "balancers/registry.hpp"
#include "config/scalars.hpp"
#include "proxy/l7/request_key.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/upstream/endpoint_picker.hpp"
#include "proxy/upstream/sticky_table.hpp"

namespace sluice::proxy {
namespace {

constexpr int64_t kNow = 1'000'000'000'000;

struct Fixture {
  config::Cluster config;
  ClusterRuntime cluster;
  std::unique_ptr<StickyTable> table;
  std::string header;

  explicit Fixture(int64_t n, bool hit) {
    config.name = "shop";
    cluster.config = &config;
    for (int64_t i = 0; i < n; ++i) {
      const std::string text =
          "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1:80";
      cluster.endpoints.add(*config::parse_address(text).value, 1,
                            std::make_shared<EndpointState>(static_cast<uint32_t>(i)));
    }
    cluster.balancer = std::move(
        balancers::make_balancer("round_robin", cluster.endpoints.for_balancer(), {}).balancer);
    config::StickyCookie cookie;
    cookie.secret = "s3cret";
    table = std::make_unique<StickyTable>(cookie, "shop", cluster.endpoints);
    const std::string value =
        hit ? sticky_value("s3cret", "shop",
                           cluster.endpoints[static_cast<uint32_t>(n / 2)].address.text)
            : std::string("0123456789abcdef");
    header =
        "_ga=GA1.2.1234567890.1700000000; session=abcdef0123456789abcdef; lang=en; "
        "sluice_sticky=" +
        value + "; theme=dark";
  }
};

void BM_BalancerPick(benchmark::State& state) {
  Fixture f(state.range(0), true);
  balancers::CoreState core;
  EndpointPicker picker;
  for (auto _ : state) {
    picker.reset(f.cluster);
    benchmark::DoNotOptimize(picker.pick(f.cluster, core, 0, kNow));
  }
}

void run_sticky(benchmark::State& state, bool hit) {
  Fixture f(state.range(0), hit);
  balancers::CoreState core;
  EndpointPicker picker;
  for (auto _ : state) {
    picker.reset(f.cluster);
    std::optional<uint32_t> picked;
    const std::string_view value = cookie_value(f.header, f.table->cookie_name());
    if (std::optional<uint32_t> sticky = f.table->find(value))
      if (picker.take(f.cluster, *sticky, kNow)) picked = sticky;
    if (!picked) picked = picker.pick(f.cluster, core, 0, kNow);
    benchmark::DoNotOptimize(picked);
  }
}

void BM_StickyPick(benchmark::State& state) {
  run_sticky(state, true);
}
void BM_StickyMiss(benchmark::State& state) {
  run_sticky(state, false);
}

BENCHMARK(BM_BalancerPick)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_StickyPick)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_StickyMiss)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace sluice::proxy

BENCHMARK_MAIN();
