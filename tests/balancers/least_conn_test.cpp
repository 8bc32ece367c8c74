#include "balancers/least_conn.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "tests/balancers/test_util.hpp"

namespace sluice::balancers {
namespace {

using testing::Loads;
using testing::make_endpoints;

TEST(LeastConn, PicksTheLeastLoaded) {
  const auto eps = make_endpoints(5);
  LeastConn lc(eps);
  Loads loads(5);
  const uint32_t in_flight[] = {3, 4, 1, 2, 5};
  for (uint32_t i = 0; i < 5; ++i) loads.set(i, in_flight[i]);
  PickInput in;
  in.load = loads.view();
  CoreState core;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(lc.pick(in, core), 2u);
}

TEST(LeastConn, TiesRotateInsteadOfPilingOntoTheFirst) {
  const auto eps = make_endpoints(10);
  LeastConn lc(eps);
  Loads loads(10);
  PickInput in;
  in.load = loads.view();
  CoreState core(0, 3);
  std::vector<uint32_t> got;
  for (int i = 0; i < 10; ++i) got.push_back(*lc.pick(in, core));
  EXPECT_EQ(got, (std::vector<uint32_t>{3, 4, 5, 6, 7, 8, 9, 0, 1, 2}));
}

TEST(LeastConn, WeightScalesLoad) {
  const auto eps = make_endpoints(2, {1, 3});
  LeastConn lc(eps);
  Loads loads(2);
  PickInput in;
  in.load = loads.view();
  CoreState core;
  loads.set(0, 1);  // (1+1)/1 = 2
  loads.set(1, 4);  // (4+1)/3 = 1.67
  EXPECT_EQ(lc.pick(in, core), 1u);
  loads.set(1, 5);  // (5+1)/3 = 2: a tie, broken by the rotating start
  EXPECT_EQ(lc.pick(in, core), 1u);
  EXPECT_EQ(lc.pick(in, core), 0u);
  loads.set(1, 6);  // 7/3 > 2
  EXPECT_EQ(lc.pick(in, core), 0u);
  EXPECT_EQ(lc.pick(in, core), 0u);
}

TEST(LeastConn, SkipsExcludedAndReportsNone) {
  for (uint32_t n : {4u, 100u}) {
    const auto eps = make_endpoints(n);
    LeastConn lc(eps);
    Loads loads(n);
    for (uint32_t i = 0; i < n; ++i) loads.set(i, 10 + i);
    EndpointSet down(n);
    for (uint32_t i = 0; i + 1 < n; ++i) down.insert(i);
    PickInput in;
    in.load = loads.view();
    in.excluded = down;
    CoreState core(7);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(lc.pick(in, core), n - 1) << n;
    down.insert(n - 1);
    EXPECT_EQ(lc.pick(in, core), std::nullopt);
  }
}

TEST(LeastConn, WrongLoadViewPicksNothing) {
  const auto eps = make_endpoints(3);
  LeastConn lc(eps);
  CoreState core;
#ifdef NDEBUG
  EXPECT_EQ(lc.pick({}, core), std::nullopt);
#else
  EXPECT_DEATH(lc.pick({}, core), "load.endpoints.size");
#endif
}

struct SimResult {
  uint32_t max_spread = 0;   // worst (max - min) in-flight seen
  double max_over_mean = 0;  // worst max / mean in-flight
  std::vector<uint64_t> picks;
};

// Closed loop: `concurrency` requests always in flight; each step one uniformly chosen
// request ends and a new one is picked.
SimResult simulate(const Balancer& b, uint32_t n, uint32_t concurrency, int steps,
                   std::vector<uint32_t> weights = {}) {
  Loads loads(n);
  PickInput in;
  in.load = loads.view();
  CoreState core(42);
  Rng rng(7);
  std::vector<uint32_t> active;
  SimResult r;
  r.picks.assign(n, 0);
  for (int step = 0; step < steps; ++step) {
    if (active.size() == concurrency) {
      const uint32_t k = rng.below(static_cast<uint32_t>(active.size()));
      loads.end(active[k]);
      active[k] = active.back();
      active.pop_back();
    }
    const uint32_t e = *b.pick(in, core);
    loads.begin(e);
    active.push_back(e);
    ++r.picks[e];
    if (active.size() == concurrency && step % 97 == 0) {
      uint32_t lo = ~0u, hi = 0;
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t f = loads.in_flight(i);
        const uint32_t w = weights.empty() ? 1 : weights[i];
        lo = std::min(lo, f / w);
        hi = std::max(hi, f / w);
      }
      r.max_spread = std::max(r.max_spread, hi - lo);
      r.max_over_mean = std::max(r.max_over_mean, hi / (double(concurrency) / n));
    }
  }
  return r;
}

TEST(LeastConn, FullScanKeepsInFlightWithinTwo) {
  const auto eps = make_endpoints(10);
  LeastConn lc(eps);
  const int steps = testing::kSanitized ? 200000 : 1000000;
  const auto r = simulate(lc, 10, 200, steps);
  EXPECT_LE(r.max_spread, 2u);
  for (uint64_t p : r.picks) EXPECT_NEAR(double(p), steps / 10.0, steps / 10.0 * 0.02);
}

TEST(LeastConn, WeightedSharesFollowWeights) {
  const std::vector<uint32_t> weights{1, 2, 3, 4};
  const auto eps = make_endpoints(4, weights);
  LeastConn lc(eps);
  const auto r = simulate(lc, 4, 100, testing::kSanitized ? 200000 : 1000000);
  uint64_t total = 0;
  for (auto p : r.picks) total += p;
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(double(r.picks[i]) / total, weights[i] / 10.0, 0.01);
}

// 1000 endpoints use the sampled window: not the global minimum, but close to the mean.
TEST(LeastConn, SampledWindowBalancesAThousandEndpoints) {
  const auto eps = make_endpoints(1000);
  LeastConn lc(eps);
  const auto r = simulate(lc, 1000, 20000, testing::kSanitized ? 200000 : 1000000);
  std::printf("least_conn n=1000 mean in-flight 20: worst max/mean %.2f, worst spread %u\n",
              r.max_over_mean, r.max_spread);
  EXPECT_LE(r.max_over_mean, 1.5);
  EXPECT_LE(r.max_spread, 16u);
}

}  // namespace
}  // namespace sluice::balancers
