// Registry: same key -> same object while held, reloads keep counting, pruning after release.
#include "proxy/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "metrics_test_util.hpp"
#include "proxy/metrics/exposition.hpp"

namespace sluice::proxy::metrics {
namespace {

using test::sample;
using test::sample_text;

TEST(Registry, EveryStatsObjectHasOneSlotPerWorker) {
  Registry r(3);
  EXPECT_EQ(r.workers(), 3u);
  EXPECT_EQ(r.listener("l", "http")->per_worker.size(), 3u);
  EXPECT_EQ(r.route("l", "r", "c")->per_worker.size(), 3u);
  EXPECT_EQ(r.cluster("c")->per_worker.size(), 3u);
  EXPECT_EQ(r.rate_limit("p")->per_worker.size(), 3u);
}

TEST(Registry, SameKeyReturnsSameObjectWhileHeld) {
  Registry r(2);
  auto l1 = r.listener("web", "http");
  auto c1 = r.cluster("api");
  auto q1 = r.rate_limit("per_ip");
  auto route1 = r.route("web", "users", "api");
  EXPECT_EQ(r.listener("web", "http"), l1);
  EXPECT_EQ(r.cluster("api"), c1);
  EXPECT_EQ(r.rate_limit("per_ip"), q1);
  EXPECT_EQ(r.route("web", "users", "api"), route1);

  EXPECT_NE(r.listener("admin", "http"), l1);
  EXPECT_NE(r.cluster("api2"), c1);
  EXPECT_NE(r.rate_limit("per_key"), q1);
}

TEST(Registry, RouteKeyIsAllThreeNamesAndEmptyNamesAreValid) {
  Registry r(1);
  auto a = r.route("web", "users", "api");
  auto no_route = r.route("web", "", "");
  auto direct = r.route("web", "health", "");
  EXPECT_NE(a, no_route);
  EXPECT_NE(no_route, direct);
  EXPECT_NE(r.route("web", "users", "api-v2"), a);
  EXPECT_NE(r.route("admin", "users", "api"), a);
  EXPECT_EQ(r.route("web", "", ""), no_route);
  EXPECT_EQ(no_route->route, "");
  EXPECT_EQ(direct->cluster, "");
}

TEST(Registry, ReloadWithSameNamesKeepsCounting) {
  Registry r(2);
  // The running snapshot holds its stats; the builder of the next one asks again by name
  // before the old snapshot is released.
  auto old_cluster = r.cluster("api");
  old_cluster->per_worker.at(0).requests.add(7);
  old_cluster->per_worker.at(1).requests.add(3);

  auto new_cluster = r.cluster("api");
  ASSERT_EQ(new_cluster, old_cluster);
  old_cluster.reset();  // old snapshot gone

  new_cluster->per_worker.at(1).requests.add(5);
  auto text = render(r, {});
  EXPECT_EQ(sample(text, R"(sluice_upstream_requests_total{cluster="api"})"), 15);
}

TEST(Registry, ListenerProtocolChangeKeepsTheCounters) {
  Registry r(1);
  auto tcp = r.listener("edge", "tcp");
  tcp->per_worker.at(0).connections.add(4);
  auto http = r.listener("edge", "http");
  ASSERT_EQ(http, tcp);
  EXPECT_EQ(http->protocol, "http");
  auto text = render(r, {});
  EXPECT_EQ(sample(text, R"(sluice_downstream_connections_total{listener="edge"})"), 4);
  EXPECT_EQ(sample(text, R"(sluice_listener_info{listener="edge",protocol="http"})"), 1);
}

TEST(Registry, ReleasedEntriesArePrunedAtScrape) {
  Registry r(2);
  {
    auto l = r.listener("web", "http");
    auto c = r.cluster("api");
    auto route = r.route("web", "users", "api");
    auto q = r.rate_limit("per_ip");
    c->per_worker.at(0).requests.add(9);
    EXPECT_EQ(r.tracked(), 4u);
    auto text = render(r, {});
    EXPECT_TRUE(sample_text(text, R"(sluice_upstream_requests_total{cluster="api"})"));
    EXPECT_EQ(r.tracked(), 4u);  // still held: nothing pruned
  }
  auto held = r.cluster("kept");
  EXPECT_EQ(r.tracked(), 5u);  // expired entries wait for the next scrape
  auto live = r.live();
  EXPECT_EQ(r.tracked(), 1u);
  ASSERT_EQ(live.clusters.size(), 1u);
  EXPECT_EQ(live.clusters[0]->name, "kept");
  EXPECT_TRUE(live.listeners.empty());
  EXPECT_TRUE(live.routes.empty());
  EXPECT_TRUE(live.rate_limits.empty());

  auto text = render(r, {});
  EXPECT_FALSE(sample_text(text, R"(sluice_upstream_requests_total{cluster="api"})"));
  EXPECT_FALSE(sample_text(text, R"(sluice_downstream_connections_total{listener="web"})"));
}

TEST(Registry, NameAskedForAgainAfterReleaseStartsFromZero) {
  Registry r(1);
  r.cluster("api")->per_worker.at(0).requests.add(9);  // temporary: released at once
  auto again = r.cluster("api");
  EXPECT_EQ(again->per_worker.at(0).requests.value(), 0u);
  EXPECT_EQ(r.tracked(), 1u);  // the expired entry was replaced, not duplicated
  EXPECT_EQ(r.cluster("api"), again);
}

TEST(Registry, LiveIsInKeyOrder) {
  Registry r(1);
  auto b = r.cluster("b"), a = r.cluster("a"), c = r.cluster("c");
  auto live = r.live();
  ASSERT_EQ(live.clusters.size(), 3u);
  EXPECT_EQ(live.clusters[0], a);
  EXPECT_EQ(live.clusters[1], b);
  EXPECT_EQ(live.clusters[2], c);
}

TEST(Registry, ProcessValues) {
  using std::chrono::seconds;
  using std::chrono::system_clock;
  Registry r(1);
  EXPECT_EQ(r.endpoint_series_cap(), 1000u);
  r.set_build_version("0.1.0");
  r.set_start_time(system_clock::time_point(seconds(1700000000)));
  r.config_loaded("abc", system_clock::time_point(seconds(1700000001)));
  EXPECT_EQ(r.process().reloads_succeeded, 0u);  // the first load is not a reload
  r.reload_succeeded("def", system_clock::time_point(seconds(1700000100)));
  r.reload_failed();
  r.reload_failed();
  r.set_access_log_counts(12345, 6);

  const auto& p = r.process();
  EXPECT_EQ(p.version, "0.1.0");
  EXPECT_EQ(p.start_time_seconds, 1700000000.0);
  EXPECT_EQ(p.config_hash, "def");
  EXPECT_EQ(p.reloads_succeeded, 1u);
  EXPECT_EQ(p.reloads_failed, 2u);
  EXPECT_EQ(p.last_reload_success_seconds, 1700000100.0);
  EXPECT_EQ(p.access_log_lines, 12345u);
  EXPECT_EQ(p.access_log_dropped, 6u);
}

}  // namespace
}  // namespace sluice::proxy::metrics
