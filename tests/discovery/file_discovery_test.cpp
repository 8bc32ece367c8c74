// Clusters fed by the file discovery source, end to end: the real binary, real backends,
// the endpoint file rewritten the way operators and tools do it.
#include <filesystem>
#include <fstream>

#include "tests/discovery/discovery_fixture.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(FileDiscoveryTest, EndpointsComeAndGoWithTheFile) {
  write_endpoints({0});
  ASSERT_TRUE(start_sluice(yaml("hold_fraction: 1")));
  EXPECT_EQ(backend_of(get()), "a");

  const auto begin = std::chrono::steady_clock::now();
  write_endpoints({0, 1});
  ASSERT_TRUE(wait_for_backend("b", 2s));
  const auto propagation = std::chrono::steady_clock::now() - begin;
  EXPECT_LT(propagation, 1s) << "a file write took "
                             << std::chrono::duration_cast<Millis>(propagation).count()
                             << " ms to reach routing";

  write_endpoints({1, 2});  // a leaves, c comes: 1 of 2 removed, under hold_fraction 1
  ASSERT_TRUE(wait_for_backend("c", 2s));
  write_endpoints({2});
  EXPECT_EQ(wait_published(1), 1u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(backend_of(get()), "c") << i;
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_discovery_endpoints{cluster=\"c\",source=\"file\"}"), 1);
  EXPECT_EQ(m.get("sluice_discovery_stale{cluster=\"c\",source=\"file\"}"), 0);
  EXPECT_GT(m.get("sluice_discovery_last_success_timestamp_seconds{cluster=\"c\",source=\"file\"}"),
            1.7e9);
  // One line per published change.
  const std::string log = sluice().stderr_text();
  EXPECT_EQ(count_occurrences(log, "discovery: cluster 'c': 2 endpoints (+1 -1) from file"), 1u)
      << log;
  EXPECT_EQ(count_occurrences(log, "discovery: cluster 'c': 1 endpoints (+0 -1) from file"), 1u)
      << log;
}

TEST_F(FileDiscoveryTest, ABadFileKeepsTheLastSetAndSaysSo) {
  write_endpoints({0, 1});
  ASSERT_TRUE(start_sluice(yaml()));
  std::ofstream(endpoints_path_, std::ios::trunc);  // truncated, as a failed write leaves it
  EXPECT_EQ(wait_metric("sluice_discovery_stale{cluster=\"c\",source=\"file\"}", 1), 1);
  std::ofstream(endpoints_path_, std::ios::trunc) << "- { address: 127.0.0.1:1, wieght: 2 }\n";
  EXPECT_EQ(wait_metric("sluice_discovery_errors_total{cluster=\"c\",source=\"file\"}", 2), 2);
  // Both endpoints still serve.
  EXPECT_TRUE(wait_for_backend("a", 2s));
  EXPECT_TRUE(wait_for_backend("b", 2s));
  // One line when it went stale, naming the file's problem, not one per bad read.
  const std::string log = sluice().stderr_text();
  EXPECT_EQ(count_occurrences(log, "file source failed"), 1u) << log;
  EXPECT_EQ(count_occurrences(log, "keeping the last 2 endpoints"), 1u) << log;

  write_endpoints({0, 1});  // good again
  EXPECT_EQ(wait_metric("sluice_discovery_stale{cluster=\"c\",source=\"file\"}", 0), 0);
  EXPECT_EQ(count_occurrences(sluice().stderr_text(), "answers again"), 1u)
      << sluice().stderr_text();
}

TEST_F(FileDiscoveryTest, ARemovalOfHalfTheEndpointsWaitsForItsConfirmWindow) {
  write_endpoints({0, 1});
  ASSERT_TRUE(start_sluice(yaml("confirm_window: 1500ms")));
  write_endpoints({0});
  EXPECT_EQ(wait_metric("sluice_discovery_update_held{cluster=\"c\",source=\"file\"}", 1), 1);
  // Held: b still gets its share.
  EXPECT_TRUE(wait_for_backend("b", 1s));
  // Confirmed once the window passed with the file still saying so.
  EXPECT_EQ(wait_metric("sluice_discovery_update_held{cluster=\"c\",source=\"file\"}", 0, 4000ms),
            0);
  EXPECT_EQ(wait_published(1), 1u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(backend_of(get()), "a") << i;
  const std::string log = sluice().stderr_text();
  EXPECT_EQ(count_occurrences(log, "would remove 1 of 2 endpoints: held for 1 s"), 1u) << log;
  EXPECT_EQ(count_occurrences(log, "confirmed after 1 s: removes 1 of 2 endpoints"), 1u) << log;
}

TEST_F(FileDiscoveryTest, AnEmptiedFileNeverEmptiesTheClusterWhenTheWriterChangesItsMind) {
  write_endpoints({0, 1});
  ASSERT_TRUE(start_sluice(yaml("confirm_window: 1500ms")));
  std::ofstream(endpoints_path_, std::ios::trunc) << "[]\n";  // valid, empty: held
  EXPECT_EQ(wait_metric("sluice_discovery_update_held{cluster=\"c\",source=\"file\"}", 1), 1);
  write_endpoints({0, 1});  // back to what runs: the held update is dropped
  EXPECT_EQ(wait_metric("sluice_discovery_update_held{cluster=\"c\",source=\"file\"}", 0), 0);
  std::this_thread::sleep_for(2s);  // past the window: nothing is applied
  EXPECT_TRUE(wait_for_backend("a", 1s));
  EXPECT_TRUE(wait_for_backend("b", 1s));
  EXPECT_EQ(scrape().get("sluice_discovery_updates_total{cluster=\"c\",source=\"file\"}"), 1);
}

TEST_F(FileDiscoveryTest, ARemovedEndpointFinishesWhatIsInFlightAndGetsNothingNew) {
  write_endpoints({0, 1});
  ASSERT_TRUE(start_sluice(yaml("hold_fraction: 1")));
  // 50 slow requests in flight, each on its own connection; about half of them reach a.
  constexpr int kSlow = 50;
  std::vector<HttpClient> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(connect_http(port_));
    ASSERT_TRUE(slow.back().send(request("GET", "/sleep?ms=1500")));
  }
  ASSERT_EQ(wait_metric("sluice_upstream_requests_total{cluster=\"c\"}", kSlow), kSlow);

  write_endpoints({1});  // a leaves
  EXPECT_EQ(wait_published(1), 1u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(backend_of(get("/new/" + std::to_string(i))), "b") << i;

  // Every request that was in flight finishes where it went, whole.
  int at_a = 0;
  for (int i = 0; i < kSlow; ++i) {
    std::string error;
    auto r = slow[static_cast<size_t>(i)].read_response(Millis(10000), false, &error);
    ASSERT_TRUE(r.has_value()) << i << ": " << error;
    EXPECT_EQ(r->status, 200) << i;
    at_a += r->body == "backend a\n";
  }
  EXPECT_GT(at_a, 10);
  EXPECT_EQ(scrape().sum("sluice_http_requests_total", {{"code_class", "5xx"}}), 0);
}

TEST_F(FileDiscoveryTest, AReloadKeepsTheDiscoveredSetAndItsSource) {
  write_endpoints({0, 1});
  ASSERT_TRUE(start_sluice(yaml()));
  write_config(yaml() + "log: { level: info }\n");  // a change elsewhere
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  EXPECT_TRUE(wait_for_backend("a", 2s));
  EXPECT_TRUE(wait_for_backend("b", 2s));
  // The same source went on: one set applied in all, no second "first set".
  EXPECT_EQ(scrape().get("sluice_discovery_updates_total{cluster=\"c\",source=\"file\"}"), 1);
  // And it still watches: a change after the reload is routed.
  write_endpoints({0, 1, 2});
  EXPECT_TRUE(wait_for_backend("c", 2s));
}

TEST_F(FileDiscoveryTest, AMissingFileAtStartIsAnEmptyClusterThatFillsWhenTheFileComes) {
  ASSERT_TRUE(start_sluice(yaml()));
  EXPECT_EQ(get().status, 503);
  EXPECT_EQ(scrape().get("sluice_discovery_stale{cluster=\"c\",source=\"file\"}"), 1);
  write_endpoints({2});
  EXPECT_TRUE(wait_for_backend("c", 2s));
  EXPECT_EQ(
      count_occurrences(sluice().stderr_text(), "No such file or directory; no endpoints until it"),
      1)
      << sluice().stderr_text();
}

}  // namespace
}  // namespace sluice::testing
