// Limiter state is keyed by stable names (DESIGN.md, docs/config.md: names
// "are the stable identities that carry state ... across reloads"). A
// `key: route` limit counts each route separately: its buckets must follow the
// route, not the route's position in the list or its position on another
// listener, and the decision counters must agree.
#include <tuple>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

class ReloadStateTest : public ObsTest {
 protected:
  // One http listener per entry of `listeners` (name, port, routes).
  std::string yaml(const std::vector<std::tuple<std::string, uint16_t, std::string>>& listeners) {
    std::string y = "workers: 1\n" + admin_yaml() + "listeners:\n";
    for (const auto& [name, port, routes] : listeners)
      y += "  - name: " + name + "\n    listen: 127.0.0.1:" + std::to_string(port) +
           "\n    protocol: http\n    routes:\n" + routes;
    return y + "rate_limits:\n  - { name: rl, key: route, rate: 1/min, burst: 2 }\n";
  }
  static std::string route(const std::string& name) {
    return "      - { name: " + name + ", match: { path_prefix: /" + name +
           " }, direct_response: { body: " + name + " }, rate_limit: rl }\n";
  }
  std::vector<int> statuses(uint16_t port, const std::string& target, int n) {
    HttpClient c = connect_http(port);
    std::vector<int> out;
    for (int i = 0; i < n; ++i) out.push_back(roundtrip(c, request("GET", target)).status);
    return out;
  }
};

TEST_F(ReloadStateTest, ARouteKeepsItsBucketWhenARouteIsInsertedBeforeIt) {
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(yaml({{"web", port, route("a") + route("b")}})));
  EXPECT_EQ(statuses(port, "/a", 3), (std::vector<int>{200, 200, 429}));

  // Same limit, same routes; one more in front of them.
  write_config(yaml({{"web", port, route("z") + route("a") + route("b")}}));
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  EXPECT_EQ(statuses(port, "/a", 1), (std::vector<int>{429}))
      << "route a got a fresh bucket (the one of the route now at its old position)";
  EXPECT_EQ(statuses(port, "/b", 3), (std::vector<int>{200, 200, 429}));
  EXPECT_EQ(statuses(port, "/z", 3), (std::vector<int>{200, 200, 429}));
}

TEST_F(ReloadStateTest, RoutesOfDifferentListenersHaveTheirOwnBuckets) {
  const uint16_t one = free_loopback_port();
  const uint16_t two = free_loopback_port();
  ASSERT_TRUE(start_sluice(yaml({{"one", one, route("a")}, {"two", two, route("b")}})));
  EXPECT_EQ(statuses(one, "/a", 3), (std::vector<int>{200, 200, 429}));
  EXPECT_EQ(statuses(two, "/b", 3), (std::vector<int>{200, 200, 429}))
      << "route b of listener two shares route a's bucket (both are the first route)";
  EXPECT_EQ(wait_metric("sluice_rate_limit_decisions_total{policy=\"rl\",outcome=\"limited\"}", 2),
            2);
}

}  // namespace
}  // namespace sluice::testing
