#include "balancers/round_robin.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "balancers/weighted_round_robin.hpp"
#include "tests/balancers/test_util.hpp"

namespace sluice::balancers {
namespace {

using testing::make_endpoints;

std::vector<uint32_t> picks(const Balancer& b, CoreState& core, int count,
                            Exclusion excluded = {}) {
  std::vector<uint32_t> out;
  PickInput in;
  in.excluded = excluded;
  for (int i = 0; i < count; ++i) out.push_back(b.pick(in, core).value_or(99));
  return out;
}

TEST(RoundRobin, ExactSequence) {
  const auto eps = make_endpoints(3);
  RoundRobin rr(eps);
  CoreState core;
  EXPECT_EQ(picks(rr, core, 7), (std::vector<uint32_t>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(RoundRobin, StartCursorSpreadsWorkers) {
  const auto eps = make_endpoints(3);
  RoundRobin rr(eps);
  CoreState core(0, 5);  // reduced modulo 3
  EXPECT_EQ(picks(rr, core, 4), (std::vector<uint32_t>{2, 0, 1, 2}));
}

TEST(RoundRobin, SkipsExcludedAndReportsNone) {
  const auto eps = make_endpoints(4);
  RoundRobin rr(eps);
  CoreState core;
  EndpointSet down(4);
  down.insert(1);
  down.insert(2);
  EXPECT_EQ(picks(rr, core, 5, down), (std::vector<uint32_t>{0, 3, 0, 3, 0}));
  EndpointSet tried(4);
  tried.insert(0);
  tried.insert(3);
  PickInput in;
  in.excluded = Exclusion(down, tried);
  EXPECT_EQ(rr.pick(in, core), std::nullopt);
  RoundRobin empty(std::span<const Endpoint>{});
  EXPECT_EQ(empty.pick({}, core), std::nullopt);
}

TEST(RoundRobin, EvenDistribution) {
  const auto eps = make_endpoints(7);
  RoundRobin rr(eps);
  CoreState core(1, 3);
  std::vector<int> count(7);
  for (int i = 0; i < 700000; ++i) ++count[*rr.pick({}, core)];
  for (int c : count) EXPECT_EQ(c, 100000);
}

TEST(WeightedRoundRobin, NginxSequence511) {
  const auto eps = make_endpoints(3, {5, 1, 1});
  WeightedRoundRobin wrr(eps);
  CoreState core;
  // a a b a c a a, twice.
  EXPECT_EQ(picks(wrr, core, 14),
            (std::vector<uint32_t>{0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0}));
}

TEST(WeightedRoundRobin, GcdShortensThePeriod) {
  const auto eps = make_endpoints(3, {50, 10, 10});
  WeightedRoundRobin wrr(eps);
  EXPECT_EQ(wrr.sequence().size(), 7u);
}

// The precomputed schedule must be exactly what nginx's per-pick algorithm produces.
TEST(WeightedRoundRobin, MatchesNginxReferenceOverAMillionPicks) {
  const std::vector<uint32_t> weights{3, 7, 1, 4, 10, 2, 9};
  const auto eps = make_endpoints(7, weights);
  WeightedRoundRobin wrr(eps);
  CoreState core;
  std::vector<int64_t> current(7, 0);
  int64_t total = 0;
  for (auto w : weights) total += w;
  std::vector<int> count(7);
  for (int step = 0; step < 1000000; ++step) {
    size_t best = 0;
    for (size_t i = 0; i < 7; ++i) {
      current[i] += weights[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    const uint32_t got = *wrr.pick({}, core);
    ASSERT_EQ(got, best) << "step " << step;
    ++count[got];
  }
  // 1e6 = 27777 periods of 36 + 28 picks.
  EXPECT_EQ(count[4],
            27777 * 10 + std::count(wrr.sequence().begin(), wrr.sequence().begin() + 28, 4u));
}

TEST(WeightedRoundRobin, SharesExactOverAMillionPicks) {
  const auto eps = make_endpoints(4, {5, 1, 1, 3});  // period 10 divides 10^6
  WeightedRoundRobin wrr(eps);
  CoreState core(0, 12345);
  std::vector<int> count(4);
  for (int i = 0; i < 1000000; ++i) ++count[*wrr.pick({}, core)];
  EXPECT_EQ(count, (std::vector<int>{500000, 100000, 100000, 300000}));
}

TEST(WeightedRoundRobin, ExcludedSlotsGoToTheRest) {
  const auto eps = make_endpoints(3, {5, 1, 1});
  WeightedRoundRobin wrr(eps);
  CoreState core;
  EndpointSet down(3);
  down.insert(0);
  const auto got = picks(wrr, core, 6, down);
  for (uint32_t g : got) EXPECT_NE(g, 0u);
  EXPECT_EQ(std::count(got.begin(), got.end(), 1u), 3);
  down.insert(1);
  down.insert(2);
  PickInput in;
  in.excluded = down;
  EXPECT_EQ(wrr.pick(in, core), std::nullopt);
}

// A weight-1 endpoint deep in a long period is still found once the heavy one is down.
TEST(WeightedRoundRobin, FallsBackWhenScheduleWalkIsLong) {
  const auto eps = make_endpoints(2, {100000, 1});
  WeightedRoundRobin wrr(eps);
  CoreState core;
  EndpointSet down(2);
  down.insert(0);
  EXPECT_EQ(picks(wrr, core, 3, down), (std::vector<uint32_t>{1, 1, 1}));
}

TEST(WeightedRoundRobin, HugePeriodsAreScaledDown) {
  std::vector<uint32_t> weights;
  for (uint32_t i = 0; i < 1000; ++i) weights.push_back(1000 + i * 997 % 1000);
  const auto eps = make_endpoints(1000, weights);
  WeightedRoundRobin wrr(eps);
  EXPECT_LE(wrr.sequence().size(), WeightedRoundRobin::kMaxBuildSteps / 1000 + 1000);
  std::vector<int> count(1000);
  for (uint32_t e : wrr.sequence()) ++count[e];
  for (int c : count) EXPECT_GE(c, 1);
}

}  // namespace
}  // namespace sluice::balancers
