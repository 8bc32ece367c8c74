// Endpoints added and removed through the watched file under continuous keep-alive load:
// while at least one endpoint stays listed, no request fails, and every backend listed at the
// end gets traffic.
#include <atomic>
#include <thread>

#include "tests/discovery/discovery_fixture.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(FileDiscoveryTest, NoRequestFailsWhileTheFileChangesUnderKeepAliveLoad) {
  write_endpoints({0});
  ASSERT_TRUE(start_sluice(yaml("hold_fraction: 1", "2")));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      HttpClient c = connect_http(port_);
      while (!stop.load()) {
        if (!c.send(request("GET", "/x"))) {
          ++failed;
          return;
        }
        auto r = c.read_response(Millis(5000));
        if (!r || r->status != 200) {
          ++failed;
          return;
        }
        ++ok;
      }
    });
  }
  // Always at least one endpoint; never half removed at once (no holds with fraction 1).
  const std::vector<std::vector<size_t>> sets = {{0, 1}, {1}, {1, 2}, {0, 1, 2}, {0, 2}, {2},
                                                 {0, 2}, {0}, {0, 1}, {1, 2},    {2},    {1, 2}};
  for (int round = 0; round < 3; ++round) {
    for (const auto& set : sets) {
      write_endpoints(set);
      std::this_thread::sleep_for(150ms);
    }
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 500);
  EXPECT_EQ(scrape().sum("sluice_http_requests_total", {{"code_class", "5xx"}}), 0);
  EXPECT_EQ(scrape().get("sluice_discovery_updates_total{cluster=\"c\",source=\"file\"}"),
            1 + 3 * static_cast<double>(sets.size()));
}

}  // namespace
}  // namespace sluice::testing
