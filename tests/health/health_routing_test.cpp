// An endpoint's active health check decides whether it gets requests: out within
// interval x unhealthy + 1 s of starting to fail, back after `healthy` passes, and nothing
// sent to it while it is down, however often the config is reloaded.
#include <filesystem>

#include "tests/health/health_fixture.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(HealthTest, AnEndpointFailingItsCheckStopsGettingRequestsAndComesBack) {
  ASSERT_TRUE(start_sluice(yaml()));
  // Every endpoint had its first verdict (before it, one present at start counts as up).
  ASSERT_EQ(wait_metric("sluice_health_transitions_total{to=\"healthy\"}", 3), 3);
  const auto failing = std::chrono::steady_clock::now();
  set_health(2, 503);
  // interval 300 ms x unhealthy 2 + 1 s: c may answer until then, never after.
  auto last_c = failing;
  while (std::chrono::steady_clock::now() - failing < 2500ms)
    if (get_backend() == "c") last_c = std::chrono::steady_clock::now();
  EXPECT_LE(last_c - failing, 1600ms);
  EXPECT_EQ(spread(30)["c"], 0);
  EXPECT_EQ(wait_healthy(2, 0), 0);
  EXPECT_EQ(scrape().get("sluice_health_checks_total{outcome=\"bad_status\"}") >= 2, true);
  const std::string log = sluice().stderr_text();
  EXPECT_EQ(count_occurrences(log, "healthy -> unhealthy"), 1u) << log;
  EXPECT_EQ(count_occurrences(log, "status 503"), 1u) << log;
  // /clusters says why, per endpoint.
  const std::string clusters = admin("GET", "/clusters").body;
  EXPECT_NE(clusters.find(R"("status":"unhealthy")"), std::string::npos) << clusters;
  EXPECT_NE(clusters.find(R"("reason":"status 503")"), std::string::npos) << clusters;

  set_health(2, 0);  // passes again: back after 2 passes
  EXPECT_EQ(wait_healthy(2, 1), 1);
  EXPECT_GT(spread(30)["c"], 0);
  EXPECT_EQ(count_occurrences(sluice().stderr_text(), "unhealthy -> healthy"), 1u);
}

TEST_F(HealthTest, AHundredReloadsWhileAnEndpointIsDownSendItNothing) {
  set_health(2, 503);
  ASSERT_TRUE(start_sluice(yaml()));
  ASSERT_EQ(wait_healthy(2, 0), 0);
  int to_c = 0;
  for (int i = 0; i < 100; ++i) {
    // Every other reload changes something unrelated, the rest change nothing.
    write_config(yaml() + (i % 2 == 0 ? "log: { level: info }\n" : ""));
    ASSERT_EQ(admin("POST", "/reload").status, 200) << i;
    for (int j = 0; j < 3; ++j) to_c += get_backend() == "c";
  }
  EXPECT_EQ(to_c, 0);
  // The verdict lived through every reload: c was never checked from scratch again.
  EXPECT_EQ(scrape().get("sluice_health_transitions_total{to=\"unhealthy\"}"), 1);
}

TEST_F(HealthTest, ANewEndpointWaitsForItsFirstVerdict) {
  // a and b from the start; c joins by reload while its check fails: it never gets a request.
  std::deque<Backend> all = std::move(backends_);
  backends_.clear();
  backends_.push_back(std::move(all[0]));
  backends_.push_back(std::move(all[1]));
  ASSERT_TRUE(start_sluice(yaml()));
  backends_.push_back(std::move(all[2]));
  set_health(2, 503);
  write_config(yaml());
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  int to_c = 0;
  const auto begin = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - begin < 1500ms) to_c += get_backend() == "c";
  EXPECT_EQ(to_c, 0);
  EXPECT_EQ(wait_healthy(2, 0), 0);
}

TEST_F(HealthTest, SlowStartRampsANewEndpointsShare) {
  std::deque<Backend> all = std::move(backends_);
  backends_.clear();
  backends_.push_back(std::move(all[0]));
  const std::string extra = "    slow_start: 3s\n    balancer: { type: weighted_round_robin }\n";
  ASSERT_TRUE(start_sluice(yaml(extra)));
  backends_.push_back(std::move(all[1]));
  write_config(yaml(extra));
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  ASSERT_EQ(wait_healthy(1, 1), 1);
  // Early in its window b runs at a tenth or two of its weight...
  const int early = spread(100)["b"];
  EXPECT_LT(early, 30) << early;
  EXPECT_GT(early, 0);
  // ...and at full weight once the window is over: an even split.
  std::this_thread::sleep_for(3s);
  const int late = spread(100)["b"];
  EXPECT_GE(late, 40) << late;
  EXPECT_LE(late, 60) << late;
}

}  // namespace
}  // namespace sluice::testing
