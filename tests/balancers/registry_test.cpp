#include "balancers/registry.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "balancers/maglev.hpp"
#include "balancers/ring_hash.hpp"
#include "tests/balancers/test_util.hpp"

namespace sluice::balancers {
namespace {

using testing::Loads;
using testing::make_endpoints;

TEST(Registry, KnowsTheConfigNames) {
  std::vector<std::string> names;
  for (const auto& e : registry()) names.emplace_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"round_robin", "weighted_round_robin", "least_conn",
                                             "consistent_hash", "p2c"}));
  const auto eps = make_endpoints(3);
  for (const auto& name : names) {
    auto r = make_balancer(name, eps, {});
    ASSERT_TRUE(r.ok()) << name << ": " << r.error;
    EXPECT_EQ(r.balancer->name(), name);
    EXPECT_EQ(r.balancer->size(), 3u);
  }
}

TEST(Registry, ErrorsAreValues) {
  const auto eps = make_endpoints(3);
  auto unknown = make_balancer("random", eps, {});
  EXPECT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error, "unknown balancer \"random\"");
  EXPECT_EQ(find_balancer("random"), nullptr);

  auto dup = eps;
  dup[2].id = dup[0].id;
  EXPECT_EQ(make_balancer("round_robin", dup, {}).error, "duplicate endpoint \"10.0.0.0:8080\"");
  auto zero = eps;
  zero[1].weight = 0;
  EXPECT_FALSE(make_balancer("weighted_round_robin", zero, {}).ok());

  Options o;
  o.bounded_load = 1.0;
  EXPECT_FALSE(make_balancer("consistent_hash", eps, o).ok());
  o.bounded_load = 1.25;
  EXPECT_TRUE(make_balancer("consistent_hash", eps, o).ok());
  o = {};
  o.virtual_nodes = 0;
  EXPECT_FALSE(make_balancer("consistent_hash", eps, o).ok());
  o = {};
  o.load = P2cLoad::ewma_latency;
  o.ewma_tau_ns = 0;
  EXPECT_FALSE(make_balancer("p2c", eps, o).ok());
}

TEST(Registry, OptionsChooseTheVariant) {
  const auto eps = make_endpoints(5);
  Options o;
  o.algorithm = HashAlgorithm::maglev;
  o.maglev_table_size = 1000;
  auto m = make_balancer("consistent_hash", eps, o);
  ASSERT_TRUE(m.ok());
  auto* maglev = dynamic_cast<Maglev*>(m.balancer.get());
  ASSERT_NE(maglev, nullptr);
  EXPECT_EQ(maglev->table().size(), 1009u);
  o.algorithm = HashAlgorithm::ring;
  o.virtual_nodes = 7;
  auto r = make_balancer("consistent_hash", eps, o);
  auto* ring = dynamic_cast<RingHash*>(r.balancer.get());
  ASSERT_NE(ring, nullptr);
  EXPECT_EQ(ring->points(), 35u);
  o.load = P2cLoad::ewma_latency;
  auto p = make_balancer("p2c", eps, o);
  EXPECT_EQ(dynamic_cast<P2c*>(p.balancer.get())->load_mode(), P2cLoad::ewma_latency);
}

// The retry contract, for every balancer: adding each pick to "tried" yields every
// endpoint exactly once, then none.
TEST(Registry, EveryBalancerIteratesAllCandidatesThenNone) {
  for (uint32_t n : {1u, 5u, 40u}) {
    const auto eps = make_endpoints(n);
    Loads loads(n);
    for (const auto& entry : registry()) {
      auto b = make_balancer(entry.name, eps, {});
      ASSERT_TRUE(b.ok());
      EndpointSet tried(n);
      PickInput in;
      in.key = 12345;
      in.load = loads.view();
      in.excluded = tried;
      CoreState core(n, n);
      std::set<uint32_t> seen;
      for (uint32_t attempt = 0; attempt < n; ++attempt) {
        const auto got = b.balancer->pick(in, core);
        ASSERT_TRUE(got.has_value()) << entry.name << " n=" << n << " attempt " << attempt;
        ASSERT_TRUE(seen.insert(*got).second) << entry.name;
        tried.insert(*got);
      }
      EXPECT_EQ(b.balancer->pick(in, core), std::nullopt) << entry.name;
    }
  }
}

TEST(Registry, EmptyEndpointListPicksNothing) {
  Loads loads(0);
  for (const auto& entry : registry()) {
    auto b = make_balancer(entry.name, {}, {});
    ASSERT_TRUE(b.ok()) << entry.name;
    PickInput in;
    in.load = loads.view();
    CoreState core;
    EXPECT_EQ(b.balancer->pick(in, core), std::nullopt) << entry.name;
  }
}

// Workers share the balancer and the counters, each with its own CoreState: after every
// request has ended, every counter is back to zero.
TEST(Registry, TwoWorkersShareBalancerAndCounters) {
  const uint32_t n = 64;
  const auto eps = make_endpoints(n);
  for (const auto& entry : registry()) {
    Options o;
    o.bounded_load = 1.5;
    auto b = make_balancer(entry.name, eps, o);
    ASSERT_TRUE(b.ok());
    Loads loads(n);
    auto worker = [&](uint64_t seed) {
      CoreState core(seed, static_cast<uint32_t>(seed));
      Rng keys(seed);
      PickInput in;
      in.load = loads.view();
      std::vector<uint32_t> open;
      for (int i = 0; i < 20000; ++i) {
        in.key = keys.next();
        const uint32_t e = *b.balancer->pick(in, core);
        begin_request(*in.load.endpoints[e], in.load.total);
        open.push_back(e);
        if (open.size() == 16) {
          for (uint32_t x : open) end_request(*in.load.endpoints[x], in.load.total);
          open.clear();
        }
      }
      for (uint32_t x : open) end_request(*in.load.endpoints[x], in.load.total);
    };
    std::thread t1(worker, 1), t2(worker, 2);
    t1.join();
    t2.join();
    for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(loads.in_flight(i), 0u) << entry.name;
    EXPECT_EQ(loads.total(), 0u) << entry.name;
  }
}

}  // namespace
}  // namespace sluice::balancers
