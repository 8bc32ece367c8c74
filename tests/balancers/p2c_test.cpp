#include "balancers/p2c.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <queue>
#include <vector>

#include "tests/balancers/test_util.hpp"

namespace sluice::balancers {
namespace {

using testing::Loads;
using testing::make_endpoints;

void set_ewma(EndpointLoad& e, double ns, int64_t stamp) {
  e.ewma_bits = std::bit_cast<uint64_t>(ns);
  e.ewma_stamp_ns = stamp;
}

TEST(P2c, DrawsTwoDistinctUniformCandidates) {
  for (uint32_t n : {2u, 3u, 10u}) {
    Rng rng(n);
    std::vector<int> pair(n * n);
    const int draws = 900000;
    for (int i = 0; i < draws; ++i) {
      const auto [a, b] = P2c::draw(n, rng);
      ASSERT_NE(a, b);
      ASSERT_LT(a, n);
      ASSERT_LT(b, n);
      ++pair[a * n + b];
    }
    const double expected = double(draws) / (n * (n - 1));
    for (uint32_t a = 0; a < n; ++a) {
      for (uint32_t b = 0; b < n; ++b) {
        if (a != b) {
          EXPECT_NEAR(pair[a * n + b], expected, expected * 0.05) << n;
        }
      }
    }
  }
}

TEST(P2c, TwoEndpointsAlwaysGetTheLessBusy) {
  const auto eps = make_endpoints(2);
  P2c p2c(eps, P2cLoad::in_flight);
  Loads loads(2);
  PickInput in;
  in.load = loads.view();
  CoreState core(3);
  loads.set(0, 5);
  loads.set(1, 3);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(p2c.pick(in, core), 1u);
  loads.set(1, 6);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(p2c.pick(in, core), 0u);
}

// Replays each pick's draw from a copy of the worker's Rng: the pick must be the less
// loaded of the two, never the strictly busier one.
TEST(P2c, NeverPicksTheStrictlyBusierCandidate) {
  for (const P2cLoad mode : {P2cLoad::in_flight, P2cLoad::ewma_latency}) {
    const uint32_t n = 10;
    const auto eps = make_endpoints(n, {1, 2, 1, 3, 1, 1, 2, 1, 1, 4});
    P2c p2c(eps, mode);
    Loads loads(n);
    PickInput in;
    in.load = loads.view();
    in.now_ns = 1'000'000'000;
    CoreState core(11);
    Rng chaos(5);
    for (int step = 0; step < 20000; ++step) {
      for (uint32_t i = 0; i < n; ++i) {
        loads.set(i, chaos.below(8));
        set_ewma(loads[i], 1e6 * (1 + chaos.below(20)), in.now_ns - chaos.below(1000000));
      }
      Rng replay = core.rng;
      const auto [a, b] = P2c::draw(n, replay);
      const uint32_t got = *p2c.pick(in, core);
      ASSERT_TRUE(got == a || got == b);
      auto cost = [&](uint32_t i) {
        const double f = loads.in_flight(i) + 1.0;
        const double c =
            mode == P2cLoad::in_flight ? f : ewma_latency_ns(loads[i], in.now_ns, p2c.tau_ns()) * f;
        return c / eps[i].weight;
      };
      const uint32_t other = got == a ? b : a;
      ASSERT_LE(cost(got), cost(other) * (1 + 1e-12)) << "step " << step;
    }
  }
}

// With loads 0..9, endpoint i wins exactly the pairs whose partner is busier:
// P(i) = 2 (n - 1 - i) / (n (n - 1)).
TEST(P2c, ShareByRankMatchesTheory) {
  const uint32_t n = 10;
  const auto eps = make_endpoints(n);
  P2c p2c(eps, P2cLoad::in_flight);
  Loads loads(n);
  for (uint32_t i = 0; i < n; ++i) loads.set(i, i);
  PickInput in;
  in.load = loads.view();
  CoreState core(99);
  std::vector<int> count(n);
  const int picks = testing::kSanitized ? 200000 : 1000000;
  for (int i = 0; i < picks; ++i) ++count[*p2c.pick(in, core)];
  for (uint32_t i = 0; i < n; ++i) {
    EXPECT_NEAR(double(count[i]) / picks, 2.0 * (n - 1 - i) / (n * (n - 1)), 0.003) << i;
  }
  EXPECT_EQ(count[n - 1], 0);
}

TEST(P2c, SkipsExcludedAndReportsNone) {
  const uint32_t n = 50;
  const auto eps = make_endpoints(n);
  P2c p2c(eps, P2cLoad::in_flight);
  Loads loads(n);
  EndpointSet down(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (i != 17 && i != 33) down.insert(i);
  }
  loads.set(33, 4);
  PickInput in;
  in.load = loads.view();
  in.excluded = down;
  CoreState core(1);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(p2c.pick(in, core), 17u);
  down.insert(17);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(p2c.pick(in, core), 33u);
  down.insert(33);
  EXPECT_EQ(p2c.pick(in, core), std::nullopt);

  const auto one = make_endpoints(1);
  P2c single(one, P2cLoad::in_flight);
  Loads one_load(1);
  in = {};
  in.load = one_load.view();
  EXPECT_EQ(single.pick(in, core), 0u);
}

TEST(P2c, BalancesInFlightUnderClosedLoopLoad) {
  const uint32_t n = 100, concurrency = 2000;
  const auto eps = make_endpoints(n);
  P2c p2c(eps, P2cLoad::in_flight);
  Loads loads(n);
  PickInput in;
  in.load = loads.view();
  CoreState core(8);
  Rng rng(3);
  std::vector<uint32_t> active;
  uint32_t worst = 0;
  const int steps = testing::kSanitized ? 200000 : 1000000;
  for (int step = 0; step < steps; ++step) {
    if (active.size() == concurrency) {
      const uint32_t k = rng.below(concurrency);
      loads.end(active[k]);
      active[k] = active.back();
      active.pop_back();
    }
    const uint32_t e = *p2c.pick(in, core);
    loads.begin(e);
    active.push_back(e);
    if (step > int(concurrency)) {
      for (uint32_t i = 0; i < n; i += 7) worst = std::max(worst, loads.in_flight(i));
    }
  }
  std::printf("p2c n=100 mean in-flight 20: worst in-flight %u\n", worst);
  EXPECT_LE(worst, 30u);  // mean 20; random choice would reach ~35
}

struct LatencySim {
  double slow_share;
};

// Open loop: Poisson arrivals at 5000/s over 10 endpoints, 1 ms latency (±20%), except
// endpoint 3 at 10 ms. Completions feed observe_latency at their own time.
LatencySim simulate_latency(P2cLoad mode, int requests) {
  const uint32_t n = 10, slow = 3;
  const auto eps = make_endpoints(n);
  P2c p2c(eps, mode);
  Loads loads(n);
  PickInput in;
  in.load = loads.view();
  CoreState core(21);
  Rng rng(77);
  struct Done {
    int64_t at, start;
    uint32_t endpoint;
    bool operator>(const Done& o) const { return at > o.at; }
  };
  std::priority_queue<Done, std::vector<Done>, std::greater<>> pending;
  int64_t now = 1'000'000'000;
  int slow_picks = 0;
  for (int r = 0; r < requests; ++r) {
    const double u = (rng.next() >> 11) * 0x1.0p-53;
    now += static_cast<int64_t>(-std::log1p(-u) * 200'000);  // mean 200 us apart
    while (!pending.empty() && pending.top().at <= now) {
      const Done d = pending.top();
      pending.pop();
      loads.end(d.endpoint);
      observe_latency(loads[d.endpoint], d.at - d.start, d.at, p2c.tau_ns());
    }
    in.now_ns = now;
    const uint32_t e = *p2c.pick(in, core);
    loads.begin(e);
    slow_picks += e == slow;
    const double base = e == slow ? 10e6 : 1e6;
    const double jitter = 0.8 + 0.4 * ((rng.next() >> 11) * 0x1.0p-53);
    pending.push({now + static_cast<int64_t>(base * jitter), now, e});
  }
  return {double(slow_picks) / requests};
}

TEST(P2c, PeakEwmaAvoidsATenTimesSlowerEndpoint) {
  // 80 simulated seconds: long enough for the slow endpoint's EWMA to decay (tau 10 s)
  // and be probed again, so this does not shrink under sanitizers.
  const int requests = 400000;
  const auto ewma = simulate_latency(P2cLoad::ewma_latency, requests);
  const auto in_flight = simulate_latency(P2cLoad::in_flight, requests);
  std::printf(
      "slow endpoint share (fair 10%%): ewma_latency %.3f%% (%.0f picks), in_flight %.2f%%\n",
      100 * ewma.slow_share, ewma.slow_share * requests, 100 * in_flight.slow_share);
  EXPECT_LE(ewma.slow_share, 0.05);
  EXPECT_GT(ewma.slow_share, 0.0);  // decay lets it be probed again
}

TEST(P2c, UnsampledEndpointsAreComparedByInFlight) {
  const auto eps = make_endpoints(2);
  P2c p2c(eps, P2cLoad::ewma_latency);
  Loads loads(2);
  loads.set(0, 3);
  PickInput in;
  in.load = loads.view();
  in.now_ns = 5'000'000'000;
  CoreState core(2);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(p2c.pick(in, core), 1u);
  // Only 1 has a sample now. An endpoint without one is not free: one that never
  // answers never gets a sample, so its in-flight count is what tells.
  observe_latency(loads[1], 2'000'000, in.now_ns, p2c.tau_ns());
  for (int i = 0; i < 100; ++i) ASSERT_EQ(p2c.pick(in, core), 1u);
  // Both sampled: latency x (in-flight + 1) decides; 0 is much faster.
  observe_latency(loads[0], 10'000, in.now_ns, p2c.tau_ns());
  for (int i = 0; i < 100; ++i) ASSERT_EQ(p2c.pick(in, core), 0u);
}

TEST(P2c, PeakEwmaJumpsUpAndDecays) {
  EndpointLoad e;
  const int64_t tau = 1'000'000'000;
  observe_latency(e, 5'000'000, 10 * tau, tau);
  EXPECT_DOUBLE_EQ(ewma_latency_ns(e, 10 * tau, tau), 5e6);
  observe_latency(e, 9'000'000, 10 * tau + 1, tau);  // a peak replaces at once
  EXPECT_DOUBLE_EQ(ewma_latency_ns(e, 10 * tau + 1, tau), 9e6);
  observe_latency(e, 1'000'000, 11 * tau + 1, tau);  // one tau later: ~e^-1 of the gap stays
  const double v = ewma_latency_ns(e, 11 * tau + 1, tau);
  EXPECT_NEAR(v, 1e6 + 8e6 * std::exp(-1.0), 8e6 * 0.03);
  EXPECT_NEAR(ewma_latency_ns(e, 12 * tau + 1, tau), v * std::exp(-1.0), v * 0.03);
  EXPECT_EQ(ewma_latency_ns(e, 200 * tau, tau), 0.0);
}

}  // namespace
}  // namespace sluice::balancers
