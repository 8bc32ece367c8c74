// TrafficHistory and read_traffic: readings on a fake timeline, and totals read from a real
// snapshot's counters.
#include "proxy/control/admin/traffic_history.hpp"

#include <gtest/gtest.h>

#include "config/parse.hpp"
#include "proxy/control/snapshot_builder.hpp"
#include "proxy/control/state_store.hpp"

namespace sluice::proxy::admin {
namespace {

using std::chrono::seconds;

TrafficTotals totals(uint64_t requests, uint64_t errors) {
  TrafficTotals t;
  t.http = {requests, errors};
  t.clusters["api"] = {requests * 2, errors};
  return t;
}

TEST(TrafficHistory, NoIntervalBeforeTwoReadings) {
  TrafficHistory h;
  EXPECT_FALSE(h.interval());
  h.add(TrafficHistory::Clock::time_point{} + seconds(5), totals(10, 1));
  EXPECT_FALSE(h.interval());
}

TEST(TrafficHistory, IntervalSpansTheOldestAndNewestReadingKept) {
  TrafficHistory h;
  const auto t0 = TrafficHistory::Clock::time_point{} + seconds(100);
  for (uint64_t i = 0; i < 3; ++i) h.add(t0 + seconds(i), totals(100 * i, i));
  auto interval = h.interval();
  ASSERT_TRUE(interval);
  EXPECT_EQ(interval->seconds, 2.0);
  EXPECT_EQ(interval->from->http.requests, 0u);
  EXPECT_EQ(interval->to->http.requests, 200u);
  const TrafficRate r = rate_between(interval->from->http, interval->to->http, interval->seconds);
  EXPECT_EQ(r.per_second, 100.0);
  EXPECT_EQ(r.errors_per_second, 1.0);

  // Twenty readings later only the last kSamples are kept: ten seconds.
  for (uint64_t i = 3; i < 23; ++i) h.add(t0 + seconds(i), totals(100 * i, i));
  interval = h.interval();
  ASSERT_TRUE(interval);
  EXPECT_EQ(interval->seconds, double(TrafficHistory::kSamples - 1));
  EXPECT_EQ(interval->from->http.requests, 1200u);
  EXPECT_EQ(interval->to->http.requests, 2200u);
  EXPECT_EQ(interval->to->clusters.at("api").requests, 4400u);
}

TEST(TrafficHistory, ACounterThatWentBackStartsAgainFromZero) {
  // A reload dropped a route and a new one counts from 0: 30 since, not 30 - 1000.
  const TrafficRate r = rate_between({1000, 10}, {30, 3}, 2.0);
  EXPECT_EQ(r.per_second, 15.0);
  EXPECT_EQ(r.errors_per_second, 1.5);
  EXPECT_EQ(rate_between({1, 1}, {5, 5}, 0).per_second, 0.0);  // no time, no rate
}

TEST(TrafficHistory, TheLoopTakesAReadingAtStartAndEverySecond) {
  control::ControlLoop loop;
  ASSERT_TRUE(loop.ok()) << loop.error();
  uint64_t reads = 0;
  {
    TrafficHistory h;
    h.start(loop, [&] { return totals(++reads * 10, 0); });
    EXPECT_EQ(reads, 1u);
    const auto until = TrafficHistory::Clock::now() + std::chrono::milliseconds(1100);
    while (reads < 2 && TrafficHistory::Clock::now() < until)
      loop.run_once(std::chrono::milliseconds(100));
    EXPECT_EQ(reads, 2u);
    ASSERT_TRUE(h.interval());
    EXPECT_NEAR(h.interval()->seconds, 1.0, 0.2);
  }
  // Destroyed: the timer is gone with it.
  loop.run_once(std::chrono::milliseconds(1100));
  EXPECT_EQ(reads, 2u);
}

TEST(ReadTraffic, SumsRoutesAndClustersOverEveryWorker) {
  config::ParseResult parsed = config::parse_config_text(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    routes: [{ name: r, match: { path_prefix: / }, cluster: api }]
clusters:
  - { name: api, endpoints: [{ address: 127.0.0.1:9001 }] }
  - { name: idle, endpoints: [{ address: 127.0.0.1:9002 }] }
)",
                                                         "t.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.errors[0].to_string();
  auto config = std::make_shared<const config::Config>(std::move(parsed.config));
  StateStore state;
  metrics::Registry registry(2);
  std::string error;
  auto snapshot = build_snapshot(config, state, registry, error);
  ASSERT_NE(snapshot, nullptr) << error;

  auto route = registry.route("web", "r", "api");  // the one the snapshot counts in
  for (int i = 0; i < 5; ++i) route->per_worker.at(0).count(0, 200);
  for (int i = 0; i < 2; ++i) route->per_worker.at(1).count(0, 503);
  route->per_worker.at(1).count(0, 404);
  const ClusterRuntime& api = snapshot->clusters[0];
  api.stats->per_worker.at(0).requests.add(7);
  api.stats->per_worker.at(1).requests.add(1);
  api.stats->per_worker.at(1).responses[4].add(2);

  const TrafficTotals t = read_traffic(registry, *snapshot);
  EXPECT_EQ(t.http.requests, 8u);
  EXPECT_EQ(t.http.errors, 2u);
  ASSERT_EQ(t.clusters.size(), 2u);
  EXPECT_EQ(t.clusters.at("api").requests, 8u);
  EXPECT_EQ(t.clusters.at("api").errors, 2u);
  EXPECT_EQ(t.clusters.at("idle").requests, 0u);
}

}  // namespace
}  // namespace sluice::proxy::admin
