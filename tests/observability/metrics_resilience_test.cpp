// /metrics and /clusters for the resilience machinery: a circuit breaker that
// opens on connect failures, outlier ejection of an endpoint answering 5xx,
// retries after connect failures, and request timeouts.
#include <boost/json.hpp>

#include <thread>
#include "tests/http_integration/upstream.hpp"

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;

class MetricsResilienceTest : public ObsTest {
 protected:
  // An http listener on port_ whose one route ("0") goes to cluster `cluster`.
  std::string http_yaml(const std::string& route_extra, const std::string& clusters) {
    port_ = free_loopback_port();
    return "workers: 1\n" + admin_yaml() +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    routes:\n"
           "      - { match: { path_prefix: / }, cluster: c" +
           route_extra +
           " }\n"
           "clusters:\n" +
           clusters;
  }

  uint16_t port_ = 0;
};

TEST_F(MetricsResilienceTest, BreakerOpensAfterConsecutiveConnectFailures) {
  uint16_t refusing = 0;
  Socket hold = reserve_refusing_port(&refusing);
  ASSERT_TRUE(hold.valid());
  const std::string down = "127.0.0.1:" + std::to_string(refusing);
  ASSERT_TRUE(start_sluice(
      http_yaml(", retries: { attempts: 0 }",
                "  - name: c\n"
                "    endpoints: [ { address: " +
                    down +
                    " } ]\n"
                    "    circuit_breaker: { consecutive_failures: 3, open_for: 30s }\n")));
  // A 502 closes the client connection: one connection per request.
  for (int i = 0; i < 3; ++i) {
    Response r = fetch_once(port_, request("GET", "/x"));
    EXPECT_EQ(r.status, 502) << i;
    EXPECT_EQ(r.header("x-sluice-error"), "connect-failed") << i;
  }
  for (int i = 0; i < 2; ++i) {
    Response r = fetch_once(port_, request("GET", "/x"));
    EXPECT_EQ(r.status, 503) << i;
    EXPECT_EQ(r.header("x-sluice-error"), "circuit-open") << i;
  }

  EXPECT_EQ(
      wait_sum("sluice_http_requests_total",
               {{"listener", "web"}, {"route", "0"}, {"cluster", "c"}, {"code_class", "5xx"}}, 5),
      5);
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_circuit_breaker_state{cluster=\"c\"}"), 1);
  EXPECT_EQ(m.get("sluice_circuit_breaker_transitions_total{cluster=\"c\",to=\"open\"}"), 1);
  EXPECT_EQ(m.get("sluice_circuit_breaker_transitions_total{cluster=\"c\",to=\"half_open\"}"), 0);
  EXPECT_EQ(m.get("sluice_circuit_breaker_transitions_total{cluster=\"c\",to=\"closed\"}"), 0);
  EXPECT_EQ(m.get("sluice_circuit_breaker_rejected_total{cluster=\"c\"}"), 2);
  EXPECT_EQ(m.get("sluice_upstream_connect_failures_total{cluster=\"c\"}"), 3);
  // Attempts: the rejected requests never reached for the endpoint.
  EXPECT_EQ(m.get("sluice_upstream_requests_total{cluster=\"c\"}"), 3);
  EXPECT_EQ(m.sum("sluice_upstream_responses_total", {{"cluster", "c"}}), 0);
  EXPECT_EQ(m.get("sluice_upstream_request_duration_seconds_count{cluster=\"c\"}"), 0);
  EXPECT_EQ(m.get("sluice_upstream_retries_total{cluster=\"c\"}"), 0);

  AdminReply clusters = admin("GET", "/clusters");
  ASSERT_EQ(clusters.status, 200);
  const json::object breaker =
      json::parse(clusters.body).at("clusters").at(0).at("breaker").as_object();
  EXPECT_EQ(breaker.at("state").as_string(), "open") << clusters.body;
  EXPECT_EQ(breaker.at("opened_by_consecutive").as_int64(), 1) << clusters.body;
  EXPECT_EQ(breaker.at("rejected").as_int64(), 2) << clusters.body;
}

TEST_F(MetricsResilienceTest, AnEndpointAnswering5xxIsEjectedAndCounted) {
  Upstream bad([](UpstreamConn& c) {
    while (c.read_request(Millis(10000))) {
      if (!c.write(http_response(500, "bad\n"))) return;
    }
  });
  Backend& good = add_backend("good");
  ASSERT_TRUE(start_sluice(http_yaml(", retries: { attempts: 0 }",
                                     "  - name: c\n"
                                     "    endpoints: [ { address: " +
                                         bad.address() + " }, { address: " + good.address() +
                                         " } ]\n"
                                         "    outlier_detection: { consecutive_5xx: 2, "
                                         "base_ejection: 30s, max_ejected_percent: 50 }\n")));
  HttpClient client = connect_http(port_);
  // Round robin over two endpoints: four requests give the bad one two in a row
  // of its own, which ejects it; from then on only the good one answers.
  int errors = 0;
  for (int i = 0; i < 4; ++i) errors += roundtrip(client, request("GET", "/x")).status == 500;
  EXPECT_EQ(errors, 2);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(roundtrip(client, request("GET", "/x")).status, 200) << i;

  EXPECT_EQ(wait_metric("sluice_upstream_responses_total{cluster=\"c\",code_class=\"2xx\"}", 6), 6);
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_upstream_responses_total{cluster=\"c\",code_class=\"5xx\"}"), 2);
  EXPECT_EQ(m.sum("sluice_http_requests_total",
                  {{"listener", "web"}, {"route", "0"}, {"cluster", "c"}, {"code_class", "5xx"}}),
            2);
  EXPECT_EQ(m.get("sluice_outlier_ejections_total{cluster=\"c\"}"), 1);
  const std::string bad_ep = "{cluster=\"c\",endpoint=\"" + bad.address() + "\"}";
  const std::string good_ep = "{cluster=\"c\",endpoint=\"" + good.address() + "\"}";
  EXPECT_EQ(m.get("sluice_endpoint_ejected" + bad_ep), 1);
  EXPECT_EQ(m.get("sluice_endpoint_healthy" + bad_ep), 0);
  EXPECT_EQ(m.get("sluice_endpoint_ejected" + good_ep), 0);
  EXPECT_EQ(m.get("sluice_endpoint_healthy" + good_ep), 1);
  EXPECT_EQ(bad.requests(), 2u);

  AdminReply clusters = admin("GET", "/clusters");
  ASSERT_EQ(clusters.status, 200);
  const json::object c = json::parse(clusters.body).at("clusters").at(0).as_object();
  EXPECT_EQ(c.at("endpoints").at(0).at("ejected").as_bool(), true) << clusters.body;
  EXPECT_EQ(c.at("endpoints").at(0).at("healthy").as_bool(), false) << clusters.body;
  EXPECT_EQ(c.at("endpoints").at(1).at("ejected").as_bool(), false) << clusters.body;
  EXPECT_EQ(c.at("outlier_detection").at("ejections").as_int64(), 1) << clusters.body;
  EXPECT_EQ(c.at("outlier_detection").at("ejected").as_int64(), 1) << clusters.body;
}

TEST_F(MetricsResilienceTest, RetriesAfterConnectFailuresAreCounted) {
  uint16_t refusing = 0;
  Socket hold = reserve_refusing_port(&refusing);
  ASSERT_TRUE(hold.valid());
  Backend& good = add_backend("good");
  ASSERT_TRUE(start_sluice(http_yaml(", retries: { attempts: 1 }",
                                     "  - name: c\n"
                                     "    endpoints: [ { address: 127.0.0.1:" +
                                         std::to_string(refusing) +
                                         " }, { address: " + good.address() + " } ]\n")));
  HttpClient client = connect_http(port_);
  for (int i = 0; i < 4; ++i) {
    Response r = roundtrip(client, request("GET", "/x"));
    EXPECT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.body, "backend good\n") << i;
  }
  EXPECT_EQ(wait_metric("sluice_upstream_responses_total{cluster=\"c\",code_class=\"2xx\"}", 4), 4);
  const MetricSet m = scrape();
  const double retries = m.get("sluice_upstream_retries_total{cluster=\"c\"}");
  // Round robin cannot keep four requests off the refusing endpoint; every
  // failed connect was retried once on the good one.
  EXPECT_GE(retries, 1);
  EXPECT_LE(retries, 4);
  EXPECT_EQ(m.get("sluice_upstream_connect_failures_total{cluster=\"c\"}"), retries);
  EXPECT_EQ(m.get("sluice_upstream_requests_total{cluster=\"c\"}"), 4 + retries);
  EXPECT_EQ(m.sum("sluice_http_requests_total",
                  {{"listener", "web"}, {"route", "0"}, {"cluster", "c"}, {"code_class", "2xx"}}),
            4);
  // The refusing endpoint shows in its gauge, and in the log once, with the error (the
  // health log looks once a second), without debug logging.
  const std::string bad = "127.0.0.1:" + std::to_string(refusing);
  EXPECT_GE(
      m.get("sluice_endpoint_connect_failures_in_a_row{cluster=\"c\",endpoint=\"" + bad + "\"}"),
      1);
  EXPECT_EQ(m.get("sluice_endpoint_connect_failures_in_a_row{cluster=\"c\",endpoint=\"" +
                  good.address() + "\"}"),
            0);
  const std::string line = "warn cluster c: endpoint " + bad + ": connect Connection refused";
  const auto deadline = std::chrono::steady_clock::now() + Millis(3000);
  while (count_occurrences(sluice().stderr_text(), line) == 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(Millis(50));
  EXPECT_EQ(count_occurrences(sluice().stderr_text(), line), 1u) << sluice().stderr_text();
}

TEST_F(MetricsResilienceTest, RequestTimeoutsAreCounted) {
  Backend& slow = add_backend("slow");
  ASSERT_TRUE(start_sluice(http_yaml(", retries: { attempts: 0 }, timeouts: { request: 300ms }",
                                     "  - name: c\n"
                                     "    endpoints: [ { address: " +
                                         slow.address() + " } ]\n")));
  Response r = fetch_once(port_, request("GET", "/sleep?ms=2000"));
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.header("x-sluice-error"), "upstream-timeout");
  EXPECT_EQ(wait_metric("sluice_upstream_timeouts_total{cluster=\"c\"}", 1), 1);
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_upstream_requests_total{cluster=\"c\"}"), 1);
  EXPECT_EQ(m.sum("sluice_upstream_responses_total", {{"cluster", "c"}}), 0);
  EXPECT_EQ(m.sum("sluice_http_requests_total",
                  {{"listener", "web"}, {"route", "0"}, {"cluster", "c"}, {"code_class", "5xx"}}),
            1);
}

}  // namespace
}  // namespace sluice::testing
