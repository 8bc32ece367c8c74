// Which endpoints take traffic, with what weight (proxy/control/health/routing_overlay):
// panic with hysteresis, warming, fail_closed, slow start. Time is an argument.
#include "proxy/control/health/routing_overlay.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::proxy::health {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr limiter::Nanos kSecond = 1'000'000'000;
constexpr auto kHealthy = HealthStatus::healthy;
constexpr auto kUnhealthy = HealthStatus::unhealthy;
constexpr auto kPending = HealthStatus::pending;

std::vector<OverlayEndpoint> cluster_of(std::initializer_list<HealthStatus> states) {
  std::vector<OverlayEndpoint> out;
  for (HealthStatus s : states) out.push_back({.weight = 1, .health = s});
  return out;
}

std::vector<bool> routable(const ClusterRouting& r) {
  std::vector<bool> out;
  for (const auto& e : r.endpoints) out.push_back(e.routable);
  return out;
}

std::vector<uint32_t> tenths(const ClusterRouting& r) {
  std::vector<uint32_t> out;
  for (const auto& e : r.endpoints) out.push_back(e.weight_tenths);
  return out;
}

TEST(RoutingOverlay, FailingPendingAndEjectedEndpointsTakeNoTraffic) {
  auto endpoints = cluster_of({kHealthy, kUnhealthy, kPending, kHealthy, kHealthy});
  endpoints[3].ejected = true;
  endpoints[4].weight = 3;
  const auto r = route_overlay(endpoints, RoutingPolicy{}, false, 0);
  EXPECT_EQ(r.mode, ClusterMode::normal);
  EXPECT_THAT(routable(r), ElementsAre(true, false, false, false, true));
  EXPECT_THAT(tenths(r), ElementsAre(10u, 0u, 0u, 0u, 30u));
  EXPECT_EQ(r.healthy, 2u);
  EXPECT_EQ(r.decided, 4u);  // the pending one has not said anything yet
  EXPECT_EQ(r.routable(), 2u);
  EXPECT_FALSE(r.next_change.has_value());
}

TEST(RoutingOverlay, PanicRoutesAllPresentOrNoneAndLeavesWithHysteresis) {
  // 10 endpoints, threshold 50%: panic below 5 healthy, out again at 6 (50 + 10 points).
  RoutingPolicy policy;
  std::vector<OverlayEndpoint> endpoints = cluster_of({});
  for (int i = 0; i < 10; ++i) endpoints.push_back({.weight = 1, .health = kUnhealthy});
  auto with_healthy = [&](int n) {
    for (int i = 0; i < 10; ++i) endpoints[i].health = i < n ? kHealthy : kUnhealthy;
    return endpoints;
  };
  EXPECT_FALSE(route_overlay(with_healthy(5), policy, false, 0).panic());
  auto r = route_overlay(with_healthy(4), policy, false, 0);
  ASSERT_TRUE(r.panic());
  EXPECT_EQ(r.routable(), 10u);  // route_all: the failing ones too
  EXPECT_TRUE(route_overlay(with_healthy(5), policy, true, 0).panic());  // not out yet
  EXPECT_FALSE(route_overlay(with_healthy(6), policy, true, 0).panic());

  policy.panic_mode = config::Panic::Mode::fail_closed;
  r = route_overlay(with_healthy(4), policy, false, 0);
  ASSERT_TRUE(r.panic());
  EXPECT_EQ(r.routable(), 0u);

  policy.panic_threshold_percent = 0;  // never panic: the healthy few take it all
  r = route_overlay(with_healthy(1), policy, false, 0);
  EXPECT_FALSE(r.panic());
  EXPECT_EQ(r.routable(), 1u);
}

TEST(RoutingOverlay, SmallClustersLeavePanicWhenAllAreBack) {
  // Two endpoints at 95%: 1 of 2 panics; the exit band (100%) is met by both being back.
  RoutingPolicy policy{.panic_threshold_percent = 95};
  EXPECT_TRUE(route_overlay(cluster_of({kHealthy, kUnhealthy}), policy, false, 0).panic());
  EXPECT_FALSE(route_overlay(cluster_of({kHealthy, kHealthy}), policy, true, 0).panic());
  // An ejection counts like a failing check.
  auto endpoints = cluster_of({kHealthy, kHealthy});
  endpoints[0].ejected = true;
  EXPECT_TRUE(route_overlay(endpoints, policy, false, 0).panic());
}

TEST(RoutingOverlay, WarmingRoutesEveryEndpointUntilTheFirstVerdict) {
  RoutingPolicy policy{.panic_mode = config::Panic::Mode::fail_closed};
  auto r = route_overlay(cluster_of({kPending, kPending, kPending}), policy, false, 0);
  EXPECT_EQ(r.mode, ClusterMode::warming);
  EXPECT_THAT(routable(r), ElementsAre(true, true, true));
  // One verdict in: the normal rules, pending ones wait.
  r = route_overlay(cluster_of({kHealthy, kPending, kPending}), policy, false, 0);
  EXPECT_EQ(r.mode, ClusterMode::normal);
  EXPECT_THAT(routable(r), ElementsAre(true, false, false));
  // An empty cluster is neither.
  EXPECT_EQ(route_overlay({}, policy, false, 0).mode, ClusterMode::normal);
}

TEST(RoutingOverlay, SlowStartRampsInTenthsAndSaysWhenTheNextStepIs) {
  const RoutingPolicy policy{.slow_start = 10 * kSecond};
  auto endpoints = cluster_of({kHealthy, kHealthy});
  endpoints[0].weight = 4;
  endpoints[1].routable_since = 100 * kSecond;  // recovered at t = 100 s
  endpoints[1].weight = 4;
  struct Step {
    limiter::Nanos now;
    uint32_t tenths;
    std::optional<limiter::Nanos> next;
  };
  for (const Step& step :
       {Step{100 * kSecond, 4, 102 * kSecond},  // 10% at once
        Step{101 * kSecond + 999, 4, 102 * kSecond}, Step{102 * kSecond, 8, 103 * kSecond},  // 20%
        Step{105 * kSecond + 500'000'000, 20, 106 * kSecond},
        Step{109 * kSecond, 36, 110 * kSecond}, Step{110 * kSecond, 40, std::nullopt}}) {
    const auto r = route_overlay(endpoints, policy, false, step.now);
    EXPECT_THAT(tenths(r), ElementsAre(40u, step.tenths)) << step.now;
    EXPECT_EQ(r.next_change, step.next) << step.now;
  }
  EXPECT_DOUBLE_EQ(route_overlay(endpoints, policy, false, 103 * kSecond).endpoints[1].weight(),
                   1.2);
  // Off without a window.
  EXPECT_THAT(tenths(route_overlay(endpoints, RoutingPolicy{}, false, 100 * kSecond)),
              ElementsAre(40u, 40u));
}

TEST(RoutingOverlay, PolicyComesFromTheCluster) {
  config::Cluster cluster;
  cluster.panic = {.threshold_percent = 30, .mode = config::Panic::Mode::fail_closed};
  cluster.slow_start = config::Duration(1500);
  const RoutingPolicy policy = RoutingPolicy::of(cluster);
  EXPECT_EQ(policy.panic_threshold_percent, 30);
  EXPECT_EQ(policy.panic_mode, config::Panic::Mode::fail_closed);
  EXPECT_EQ(policy.slow_start, 1'500'000'000);
}

TEST(RoutingOverlay, ManyEndpointsFollowTheRuleExactly) {
  // 1000 endpoints, every third failing, every seventh ejected: the routable set is exactly
  // the rule's, and the share (healthy / decided) is what panic would be judged on.
  std::vector<OverlayEndpoint> endpoints(1000);
  std::vector<bool> expected;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    endpoints[i].health = i % 3 == 0 ? kUnhealthy : kHealthy;
    endpoints[i].ejected = i % 7 == 0;
    expected.push_back(i % 3 != 0 && i % 7 != 0);
  }
  const auto r = route_overlay(endpoints, RoutingPolicy{}, false, 0);
  EXPECT_THAT(routable(r), ElementsAreArray(expected));
  EXPECT_EQ(r.healthy, static_cast<size_t>(std::count(expected.begin(), expected.end(), true)));
  EXPECT_FALSE(r.panic());  // 571 of 1000
}

}  // namespace
}  // namespace sluice::proxy::health
