// Breaker and outlier state across reloads, and the counters exported from it.
// State is kept while a cluster's settings stay (an open breaker stays open);
// counters must keep counting for names that stay whatever else changes
// (a Prometheus counter that drops back to 0 reads as a process restart).
#include "tests/http_integration/upstream.hpp"
#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

class ReloadCountersTest : public ObsTest {
 protected:
  // One http listener (route "0" -> cluster c, no retries) plus a direct
  // response on /hello whose body tells versions apart.
  std::string yaml(const std::string& body, const std::string& cluster) {
    if (port_ == 0) port_ = free_loopback_port();
    return "workers: 1\n" + admin_yaml() +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    retries: { attempts: 0 }\n"
           "    routes:\n"
           "      - { match: { path_prefix: /hello }, direct_response: { body: " +
           body +
           " } }\n"
           "      - { match: { path_prefix: / }, cluster: c }\n"
           "clusters:\n"
           "  - name: c\n" +
           cluster;
  }
  int status_of(const std::string& target) {
    return fetch_once(port_, request("GET", target)).status;
  }
  uint16_t port_ = 0;
};

TEST_F(ReloadCountersTest, BreakerStateStaysWithItsSettingsAndItsCountersKeepCounting) {
  uint16_t refusing = 0;
  Socket hold = reserve_refusing_port(&refusing);
  ASSERT_TRUE(hold.valid());
  const std::string endpoints =
      "    endpoints: [ { address: 127.0.0.1:" + std::to_string(refusing) + " } ]\n";
  auto breaker = [&](int failures) {
    return endpoints + "    circuit_breaker: { consecutive_failures: " + std::to_string(failures) +
           ", open_for: 30s }\n";
  };
  ASSERT_TRUE(start_sluice(yaml("v1", breaker(2))));
  EXPECT_EQ(status_of("/x"), 502);
  EXPECT_EQ(status_of("/x"), 502);
  EXPECT_EQ(status_of("/x"), 503);  // open

  // Unchanged breaker settings: still open after the reload.
  write_config(yaml("v2", breaker(2)));
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  EXPECT_EQ(status_of("/x"), 503);
  MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_circuit_breaker_state{cluster=\"c\"}"), 1);
  EXPECT_EQ(m.get("sluice_circuit_breaker_transitions_total{cluster=\"c\",to=\"open\"}"), 1);
  EXPECT_EQ(m.get("sluice_circuit_breaker_rejected_total{cluster=\"c\"}"), 2);

  // New settings are a new breaker (closed), but the counters of cluster c go on.
  write_config(yaml("v3", breaker(3)));
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  EXPECT_EQ(status_of("/x"), 502);
  m = scrape();
  EXPECT_EQ(m.get("sluice_circuit_breaker_state{cluster=\"c\"}"), 0);
  EXPECT_GE(m.get("sluice_circuit_breaker_transitions_total{cluster=\"c\",to=\"open\"}"), 1)
      << "a counter went back to 0 on reload";
  EXPECT_GE(m.get("sluice_circuit_breaker_rejected_total{cluster=\"c\"}"), 2)
      << "a counter went back to 0 on reload";
  // The traffic counters of the cluster did keep counting.
  EXPECT_EQ(m.get("sluice_upstream_connect_failures_total{cluster=\"c\"}"), 3);
}

TEST_F(ReloadCountersTest, OutlierEjectionsKeepCountingWhenTheEndpointListChanges) {
  Upstream bad([](UpstreamConn& c) {
    while (c.read_request(Millis(10000))) {
      if (!c.write(http_response(500, "bad\n"))) return;
    }
  });
  Backend& good = add_backend("good");
  Backend& more = add_backend("more");
  const std::string outliers =
      "    outlier_detection: { consecutive_5xx: 1, base_ejection: 30s, max_ejected_percent: 50 "
      "}\n";
  const std::string two = "    endpoints: [ { address: " + bad.address() +
                          " }, { address: " + good.address() + " } ]\n";
  ASSERT_TRUE(start_sluice(yaml("v1", two + outliers)));
  // Round robin over two: within two requests the bad endpoint answers once and is ejected.
  int errors = 0;
  for (int i = 0; i < 4; ++i) errors += status_of("/x") == 500;
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(wait_metric("sluice_outlier_ejections_total{cluster=\"c\"}", 1), 1);

  // One more endpoint: a new detector (ejections are per position), same cluster name.
  const std::string three = "    endpoints: [ { address: " + bad.address() +
                            " }, { address: " + good.address() +
                            " }, { address: " + more.address() + " } ]\n";
  write_config(yaml("v2", three + outliers));
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  EXPECT_GE(scrape().get("sluice_outlier_ejections_total{cluster=\"c\"}"), 1)
      << "a counter went back to 0 on reload";
}

}  // namespace
}  // namespace sluice::testing
