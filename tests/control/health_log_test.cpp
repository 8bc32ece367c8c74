// HealthLog: one line per breaker or ejection change, with counts when several happened
// between two looks, nothing while nothing changes, and a reminder while something stays
// broken.
#include "proxy/control/health_log.hpp"

#include <gtest/gtest.h>

#include <cerrno>

#include <string>
#include <vector>

namespace sluice::proxy {
namespace {

using limiter::BreakerState;
using std::chrono::seconds;

struct Lines {
  std::vector<std::pair<log::Level, std::string>> all;
  HealthLog::Sink sink() {
    return [this](log::Level l, const std::string& s) { all.emplace_back(l, s); };
  }
  std::string take() {
    std::string out;
    for (const auto& [level, line] : all)
      out += (level == log::Level::warn ? "W " : "I ") + line + "\n";
    all.clear();
    return out;
  }
};

metrics::ClusterStatus cluster(BreakerState state, uint64_t opened, uint64_t half, uint64_t closed,
                               std::vector<bool> ejected) {
  metrics::ClusterStatus c;
  c.name = "api";
  c.breaker.emplace();
  c.breaker->state = state;
  c.breaker->opened_by_consecutive = opened;
  c.breaker->half_opened = half;
  c.breaker->closed = closed;
  for (size_t i = 0; i < ejected.size(); ++i) {
    metrics::EndpointStatus& e = c.endpoints.emplace_back();
    e.address = "10.0.0." + std::to_string(i + 1) + ":80";
    e.ejected = ejected[i];
  }
  return c;
}

TEST(HealthLog, OneLinePerChangeAndNothingWhileStable) {
  Lines lines;
  HealthLog log(lines.sink());
  const auto t0 = HealthLog::Clock::now();
  std::vector<metrics::ClusterStatus> s = {cluster(BreakerState::closed, 0, 0, 0, {false, false})};
  log.observe(s, t0);
  EXPECT_EQ(lines.take(), "");  // nothing happened yet

  s = {cluster(BreakerState::open, 1, 0, 0, {true, false})};
  log.observe(s, t0 + seconds(1));
  EXPECT_EQ(lines.take(),
            "W cluster api: circuit breaker opened after consecutive failures; requests get 503 "
            "circuit-open until it half-opens\n"
            "W cluster api: endpoint 10.0.0.1:80 ejected by outlier detection (failures in a "
            "row)\n");
  log.observe(s, t0 + seconds(2));
  log.observe(s, t0 + seconds(3));
  EXPECT_EQ(lines.take(), "");  // still open: nothing new to say

  // Half-open and closed again between two looks: both said; the endpoint returns.
  s = {cluster(BreakerState::closed, 1, 1, 1, {false, false})};
  log.observe(s, t0 + seconds(4));
  EXPECT_EQ(lines.take(),
            "I cluster api: circuit breaker half-open: letting probe requests through\n"
            "I cluster api: circuit breaker closed: the probes succeeded\n"
            "I cluster api: endpoint 10.0.0.1:80 back from ejection\n");
}

TEST(HealthLog, ManyOpeningsBetweenLooksAreOneLineWithACount) {
  Lines lines;
  HealthLog log(lines.sink());
  const auto t0 = HealthLog::Clock::now();
  std::vector<metrics::ClusterStatus> s = {cluster(BreakerState::closed, 2, 2, 2, {})};
  log.observe(s, t0);
  lines.take();  // what happened before the first look is said too
  s = {cluster(BreakerState::open, 5, 4, 4, {})};
  log.observe(s, t0 + seconds(1));
  const std::string out = lines.take();
  EXPECT_NE(out.find("opened after consecutive failures; requests get 503 circuit-open until it "
                     "half-opens (3 times since the last report)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("half-open: letting probe requests through (2 times"), std::string::npos)
      << out;
}

TEST(HealthLog, ARemindsWhileSomethingStaysBroken) {
  Lines lines;
  HealthLog log(lines.sink());
  const auto t0 = HealthLog::Clock::now();
  std::vector<metrics::ClusterStatus> s = {
      cluster(BreakerState::open, 1, 0, 0, {true, true, false})};
  log.observe(s, t0);  // broken before the first look: said at once
  EXPECT_NE(lines.take().find("ejected"), std::string::npos);
  log.observe(s, t0 + seconds(30));
  EXPECT_EQ(lines.take(), "");
  log.observe(s, t0 + HealthLog::kReminder);
  EXPECT_EQ(lines.take(), "W cluster api: still circuit breaker open; 2 of 3 endpoints ejected\n");
  // Healthy clusters are not mentioned.
  s = {cluster(BreakerState::closed, 1, 1, 1, {false, false, false})};
  log.observe(s, t0 + 2 * HealthLog::kReminder);
  const std::string out = lines.take();
  EXPECT_EQ(out.find("still"), std::string::npos) << out;
}

TEST(HealthLog, AnEndpointWhoseConnectsFailIsOneLineWithTheErrorAndOneWhenBack) {
  Lines lines;
  HealthLog log(lines.sink());
  const auto t0 = HealthLog::Clock::now();
  std::vector<metrics::ClusterStatus> s = {cluster(BreakerState::closed, 0, 0, 0, {false, false})};
  log.observe(s, t0);
  s[0].endpoints[1].connect_failures = 1;
  s[0].endpoints[1].connect_error = -ECONNREFUSED;
  log.observe(s, t0 + seconds(1));
  EXPECT_EQ(lines.take(),
            "W cluster api: endpoint 10.0.0.2:80: connect Connection refused; passed over for "
            "1 s, doubling to 10 s while it fails\n");
  s[0].endpoints[1].connect_failures = 7;  // still failing: nothing new
  log.observe(s, t0 + seconds(2));
  EXPECT_EQ(lines.take(), "");
  log.observe(s, t0 + HealthLog::kReminder + seconds(1));
  EXPECT_EQ(lines.take(), "W cluster api: still 1 of 2 endpoints failing to connect\n");
  s[0].endpoints[1].connect_failures = 0;
  log.observe(s, t0 + HealthLog::kReminder + seconds(2));
  EXPECT_EQ(lines.take(), "I cluster api: endpoint 10.0.0.2:80: connects again\n");
}

}  // namespace
}  // namespace sluice::proxy
