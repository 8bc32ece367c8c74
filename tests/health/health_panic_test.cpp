// Below the panic threshold a cluster does not pile everything onto its last healthy
// endpoints: route_all balances over every endpoint, fail_closed answers 503. Out of panic
// once enough pass again.
#include "tests/health/health_fixture.hpp"

namespace sluice::testing {
namespace {

TEST_F(HealthTest, RouteAllBalancesOverEveryEndpointInPanic) {
  ASSERT_TRUE(start_sluice(yaml()));
  set_health(1, 503);
  set_health(2, 503);  // 1 of 3 healthy: 33% < 50%
  EXPECT_EQ(wait_metric("sluice_cluster_panic{cluster=\"c\"}", 1), 1);
  std::map<std::string, int> s = spread(30);
  EXPECT_GT(s["b"], 0);
  EXPECT_GT(s["c"], 0);
  EXPECT_EQ(count_occurrences(sluice().stderr_text(), "panic: 1 of 3 checked endpoints healthy"),
            1u)
      << sluice().stderr_text();
  set_health(1, 0);
  set_health(2, 0);
  EXPECT_EQ(wait_metric("sluice_cluster_panic{cluster=\"c\"}", 0), 0);
  EXPECT_EQ(count_occurrences(sluice().stderr_text(), "out of panic"), 1u);
}

TEST_F(HealthTest, FailClosedAnswers503InPanic) {
  ASSERT_TRUE(start_sluice(yaml("    panic: fail_closed\n")));
  set_health(1, 503);
  set_health(2, 503);
  EXPECT_EQ(wait_metric("sluice_cluster_panic{cluster=\"c\"}", 1), 1);
  std::map<std::string, int> s = spread(10);
  EXPECT_EQ(s["status 503"], 10);
}

TEST_F(HealthTest, OneDownOfThreeIsNoPanic) {
  ASSERT_TRUE(start_sluice(yaml()));
  set_health(2, 503);
  ASSERT_EQ(wait_healthy(2, 0), 0);
  EXPECT_EQ(scrape().get("sluice_cluster_panic{cluster=\"c\"}"), 0);
  EXPECT_EQ(spread(30)["c"], 0);
}

}  // namespace
}  // namespace sluice::testing
