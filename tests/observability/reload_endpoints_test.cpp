// An endpoint that leaves a cluster (here by a reload; discovery will publish the same way)
// takes no new request from then on, while the requests already in flight to it all finish.
#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

class ReloadEndpointsTest : public ObsTest {
 protected:
  void SetUp() override {
    add_backend("a");
    add_backend("b");
    port_ = free_loopback_port();
  }

  // One cluster `c` with the given endpoints (backend indexes); one worker, so the order of
  // events is the order the test makes them.
  std::string yaml(const std::vector<size_t>& endpoints) {
    std::string list;
    for (size_t i : endpoints)
      list += std::string(list.empty() ? "" : ", ") + "{ address: " + backends_[i].address() + " }";
    return "workers: 1\n" + admin_yaml() +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    timeouts: { request: 10s }\n"
           "    routes: [ { name: all, match: { path_prefix: / }, cluster: c } ]\n"
           "clusters:\n"
           "  - { name: c, endpoints: [ " +
           list + " ] }\n";
  }

  uint16_t port_ = 0;
};

TEST_F(ReloadEndpointsTest, ARemovedEndpointFinishesWhatIsInFlightAndGetsNothingNew) {
  ASSERT_TRUE(start_sluice(yaml({0})));
  // 50 slow requests in flight to endpoint a, each on its own connection.
  constexpr int kSlow = 50;
  std::vector<HttpClient> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(connect_http(port_));
    ASSERT_TRUE(slow.back().send(request("GET", "/sleep?ms=1500")));
  }
  ASSERT_EQ(wait_metric("sluice_upstream_requests_total{cluster=\"c\"}", kSlow), kSlow);

  // a leaves, b comes: new requests go to b only, at once.
  write_config(yaml({1}));
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  for (int i = 0; i < 20; ++i) {
    HttpClient c = connect_http(port_);
    Response r = roundtrip(c, request("GET", "/new/" + std::to_string(i)));
    EXPECT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.body, "backend b\n") << i;
  }

  // Every request that was in flight to a finishes there, whole.
  for (int i = 0; i < kSlow; ++i) {
    std::string error;
    auto r = slow[static_cast<size_t>(i)].read_response(Millis(10000), false, &error);
    ASSERT_TRUE(r.has_value()) << i << ": " << error;
    EXPECT_EQ(r->status, 200) << i;
    EXPECT_EQ(r->body, "backend a\n") << i;
  }
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_upstream_requests_total{cluster=\"c\"}"), kSlow + 20);
  EXPECT_EQ(m.sum("sluice_http_requests_total", {{"code_class", "5xx"}}), 0);
}

}  // namespace
}  // namespace sluice::testing
