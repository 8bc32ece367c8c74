// /metrics after known traffic: every counter the traffic touched has exactly
// the value the traffic implies, per label set (HTTP routes, direct responses,
// unmatched and malformed requests, rate-limit decisions, TCP relays), and the
// whole exposition passes `promtool check metrics`.
#include <chrono>
#include <cstdio>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

class MetricsTrafficTest : public ObsTest {};

std::string sluice_version() {
  FILE* pipe = ::popen((obs_sluice_binary() + " --version").c_str(), "r");
  char buf[4096] = "";
  const size_t n = pipe ? std::fread(buf, 1, sizeof buf - 1, pipe) : 0;
  if (pipe) ::pclose(pipe);
  std::string out(buf, n);  // "sluice 0.1.0 (commit ...)\n" and more lines
  if (out.starts_with("sluice ")) out.erase(0, 7);
  return out.substr(0, out.find_first_of(" \n"));
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST_F(MetricsTrafficTest, HttpCountersAreExactAfterKnownTraffic) {
  Backend& backend = add_backend("b0");
  const uint16_t port = free_loopback_port();
  const double started = unix_now();
  ASSERT_TRUE(start_sluice("workers: 1\n" + admin_yaml() +
                           "listeners:\n"
                           "  - name: web\n"
                           "    listen: 127.0.0.1:" +
                           std::to_string(port) +
                           "\n"
                           "    protocol: http\n"
                           "    routes:\n"
                           "      - { name: app, match: { path_prefix: /app }, cluster: c }\n"
                           "      - { match: { path_prefix: /gone }, direct_response: { status: "
                           "404, body: \"gone\\n\" } }\n"
                           "      - name: limited\n"
                           "        match: { path_prefix: /limited }\n"
                           "        direct_response: { status: 200, body: \"ok\\n\" }\n"
                           "        rate_limit: rl\n"
                           "clusters:\n"
                           "  - name: c\n"
                           "    endpoints: [ { address: " +
                           backend.address() +
                           " } ]\n"
                           "rate_limits:\n"
                           "  - { name: rl, key: global, rate: 1/min, burst: 3 }\n"));

  uint64_t sent = 0;      // bytes the clients sent
  uint64_t received = 0;  // bytes the clients received
  auto run = [&](HttpClient& c, const std::string& raw) {
    Response r = roundtrip(c, raw);
    sent += raw.size();
    received += r.raw_head.size() + r.body.size();
    return r;
  };
  {
    HttpClient c = connect_http(port);  // 7 to the cluster, one keep-alive connection
    for (int i = 0; i < 7; ++i)
      EXPECT_EQ(run(c, request("GET", "/app/" + std::to_string(i))).status, 200);
  }
  {
    HttpClient c = connect_http(port);  // 3 direct 404s
    for (int i = 0; i < 3; ++i) EXPECT_EQ(run(c, request("GET", "/gone")).status, 404);
  }
  {
    HttpClient c = connect_http(port);  // 2 that match no route
    for (int i = 0; i < 2; ++i) {
      Response r = run(c, request("GET", "/nothing"));
      EXPECT_EQ(r.status, 404);
      EXPECT_EQ(r.header("x-sluice-error"), "no-route");
    }
  }
  {
    HttpClient c = connect_http(port);  // 1 malformed: sluice answers 400 and closes
    Response r = run(c, "GET /app HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(c.wait_closed(Millis(5000)), StreamEnd::eof);
  }
  {
    HttpClient c = connect_http(port);  // 5 against a limit of 3/min
    int ok = 0, limited = 0;
    for (int i = 0; i < 5; ++i) {
      const int status = run(c, request("GET", "/limited")).status;
      ok += status == 200;
      limited += status == 429;
    }
    EXPECT_EQ(ok, 3);
    EXPECT_EQ(limited, 2);
  }

  // Exact code and a bounded method label besides the class (OTHER: a malformed request
  // has no method to speak of).
  auto requests = [](const char* route, const char* cluster, const char* method, const char* code,
                     const char* code_class) {
    return std::string("sluice_http_requests_total{listener=\"web\",route=\"") + route +
           "\",cluster=\"" + cluster + "\",method=\"" + method + "\",code=\"" + code +
           "\",code_class=\"" + code_class + "\"}";
  };
  EXPECT_EQ(wait_metric(requests("app", "c", "GET", "200", "2xx"), 7), 7);
  EXPECT_EQ(wait_metric(requests("1", "", "GET", "404", "4xx"), 3), 3);
  EXPECT_EQ(wait_metric(requests("limited", "", "GET", "200", "2xx"), 3), 3);
  EXPECT_EQ(wait_metric(requests("limited", "", "GET", "429", "4xx"), 2), 2);
  EXPECT_EQ(wait_metric(requests("", "", "GET", "404", "4xx"), 2), 2);    // no route
  EXPECT_EQ(wait_metric(requests("", "", "OTHER", "400", "4xx"), 1), 1);  // malformed
  EXPECT_EQ(wait_metric("sluice_downstream_connections_active{listener=\"web\"}", 0), 0);
  EXPECT_EQ(wait_metric("sluice_downstream_bytes_sent_total{listener=\"web\"}", double(received)),
            double(received));

  const MetricSet m = scrape();
  EXPECT_EQ(m.sum("sluice_http_requests_total"), 18)
      << "a response was counted twice or not at all";
  EXPECT_EQ(m.sum("sluice_http_requests_total", {{"code_class", "5xx"}}), 0);
  // The client-facing duration histogram counts every answered request once.
  EXPECT_EQ(m.get("sluice_http_request_duration_seconds_count{listener=\"web\",route=\"app\","
                  "cluster=\"c\"}"),
            7);
  EXPECT_EQ(m.sum("sluice_http_request_duration_seconds_count"), 18);
  EXPECT_GT(m.get("sluice_http_request_duration_seconds_sum{listener=\"web\",route=\"app\","
                  "cluster=\"c\"}"),
            0);
  EXPECT_EQ(m.get("sluice_upstream_requests_total{cluster=\"c\"}"), 7);
  EXPECT_EQ(m.get("sluice_upstream_responses_total{cluster=\"c\",code_class=\"2xx\"}"), 7);
  EXPECT_EQ(m.sum("sluice_upstream_responses_total", {{"cluster", "c"}}), 7);
  EXPECT_EQ(m.get("sluice_upstream_request_duration_seconds_count{cluster=\"c\"}"), 7);
  EXPECT_EQ(m.get("sluice_upstream_request_duration_seconds_bucket{cluster=\"c\",le=\"+Inf\"}"), 7);
  EXPECT_GT(m.get("sluice_upstream_request_duration_seconds_sum{cluster=\"c\"}"), 0);
  EXPECT_EQ(m.get("sluice_upstream_retries_total{cluster=\"c\"}"), 0);
  EXPECT_EQ(m.get("sluice_upstream_connect_failures_total{cluster=\"c\"}"), 0);
  EXPECT_EQ(m.get("sluice_upstream_timeouts_total{cluster=\"c\"}"), 0);
  // Sequential requests on one worker reuse one pooled upstream connection.
  EXPECT_EQ(m.get("sluice_upstream_connections_active{cluster=\"c\"}"), 1);

  EXPECT_EQ(m.get("sluice_downstream_connections_total{listener=\"web\"}"), 5);
  EXPECT_EQ(m.get("sluice_downstream_bytes_received_total{listener=\"web\"}"), double(sent));
  EXPECT_EQ(m.get("sluice_downstream_bytes_sent_total{listener=\"web\"}"), double(received));
  EXPECT_EQ(m.get("sluice_listener_info{listener=\"web\",protocol=\"http\"}"), 1);

  EXPECT_EQ(m.get("sluice_rate_limit_decisions_total{policy=\"rl\",outcome=\"admitted\"}"), 3);
  EXPECT_EQ(m.get("sluice_rate_limit_decisions_total{policy=\"rl\",outcome=\"limited\"}"), 2);

  const std::string ep = "{cluster=\"c\",endpoint=\"" + backend.address() + "\"}";
  EXPECT_EQ(m.get("sluice_endpoint_weight" + ep), 1);
  EXPECT_EQ(m.get("sluice_endpoint_healthy" + ep), 1);
  EXPECT_EQ(m.get("sluice_endpoint_ejected" + ep), 0);
  // Round robin tracks no in-flight count: no series (see the test below).
  EXPECT_FALSE(m.has("sluice_endpoint_requests_in_flight" + ep));
  EXPECT_EQ(m.get("sluice_endpoint_series_dropped"), 0);

  EXPECT_EQ(m.get("sluice_build_info{version=\"" + sluice_version() + "\"}"), 1);
  // The kernel's view of the process: plausible, not exact.
  EXPECT_GT(m.get("process_open_fds"), 3);  // listeners, ring, admin, a client at least
  EXPECT_GE(m.get("process_max_fds"), m.get("process_open_fds"));
  EXPECT_GT(m.get("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(m.get("process_virtual_memory_bytes"), m.get("process_resident_memory_bytes"));
  EXPECT_GE(m.get("process_cpu_seconds_total"), 0);
  EXPECT_GT(m.get("process_start_time_seconds"), 1.6e9);
  EXPECT_EQ(m.get("sluice_config_info{hash=\"" + sha256_hex(read_file(config_path_)) + "\"}"), 1);
  EXPECT_EQ(m.series_of("sluice_config_info").size(), 1u);
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"success\"}"), 0);
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"failure\"}"), 0);
  const double loaded = m.get("sluice_config_last_reload_success_timestamp_seconds");
  EXPECT_GE(loaded, started - 1);
  EXPECT_LE(loaded, unix_now() + 1);
  EXPECT_EQ(m.get("sluice_access_log_lines_total"), 0);
  EXPECT_EQ(m.get("sluice_access_log_dropped_total"), 0);

  std::string output;
  EXPECT_EQ(promtool_check(admin("GET", "/metrics").body, &output), 0) << output;
}

TEST_F(MetricsTrafficTest, TcpRelaysCountConnectionsBytesAndAcceptDecisions) {
  Backend& echo = add_backend("echo", "echo");
  const uint16_t raw_port = free_loopback_port();
  const uint16_t guarded_port = free_loopback_port();
  ASSERT_TRUE(start_sluice("workers: 1\n" + admin_yaml() +
                           "listeners:\n"
                           "  - { name: raw, listen: 127.0.0.1:" +
                           std::to_string(raw_port) +
                           ", protocol: tcp, cluster: e }\n"
                           "  - { name: guarded, listen: 127.0.0.1:" +
                           std::to_string(guarded_port) +
                           ", protocol: tcp, cluster: e, rate_limit: conns }\n"
                           "clusters:\n"
                           "  - { name: e, endpoints: [ { address: " +
                           echo.address() +
                           " } ] }\n"
                           "rate_limits:\n"
                           "  - { name: conns, key: client_ip, rate: 1/min, burst: 2 }\n"));

  uint64_t total = 0;
  for (size_t size : {1000u, 2000u, 3000u}) {
    Socket s = connect_loopback(raw_port, Millis(5000));
    ASSERT_TRUE(s.valid());
    std::string payload(size, 'x');
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
    std::string answer;
    PumpResult p = exchange(s, payload, &answer, Millis(10000));
    EXPECT_TRUE(p.ok) << p.error;
    EXPECT_EQ(answer, payload);
    total += size;
  }
  // Two connections are admitted, the next two closed at accept.
  int echoed = 0;
  for (int i = 0; i < 4; ++i) {
    Socket s = connect_loopback(guarded_port, Millis(5000));
    ASSERT_TRUE(s.valid());
    std::string answer;
    exchange(s, "ping", &answer, Millis(5000));
    echoed += answer == "ping";
  }
  EXPECT_EQ(echoed, 2);

  EXPECT_EQ(wait_metric("sluice_downstream_bytes_sent_total{listener=\"raw\"}", double(total)),
            double(total));
  EXPECT_EQ(wait_metric("sluice_downstream_connections_active{listener=\"raw\"}", 0), 0);
  EXPECT_EQ(wait_metric("sluice_downstream_connections_active{listener=\"guarded\"}", 0), 0);
  EXPECT_EQ(wait_metric("sluice_upstream_connections_active{cluster=\"e\"}", 0), 0);
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_downstream_connections_total{listener=\"raw\"}"), 3);
  EXPECT_EQ(m.get("sluice_downstream_bytes_received_total{listener=\"raw\"}"), double(total));
  EXPECT_EQ(m.get("sluice_listener_info{listener=\"raw\",protocol=\"tcp\"}"), 1);
  // Refused connections never became sluice connections.
  EXPECT_EQ(m.get("sluice_downstream_connections_total{listener=\"guarded\"}"), 2);
  EXPECT_EQ(m.get("sluice_downstream_bytes_received_total{listener=\"guarded\"}"), 8);
  EXPECT_EQ(m.get("sluice_rate_limit_decisions_total{policy=\"conns\",outcome=\"admitted\"}"), 2);
  EXPECT_EQ(m.get("sluice_rate_limit_decisions_total{policy=\"conns\",outcome=\"limited\"}"), 2);

  EXPECT_EQ(m.get("sluice_upstream_requests_total{cluster=\"e\"}"), 5);
  EXPECT_EQ(m.get("sluice_upstream_bytes_sent_total{cluster=\"e\"}"), double(total + 8));
  EXPECT_EQ(m.get("sluice_upstream_bytes_received_total{cluster=\"e\"}"), double(total + 8));
  EXPECT_EQ(m.get("sluice_upstream_request_duration_seconds_count{cluster=\"e\"}"), 5);
  EXPECT_EQ(m.sum("sluice_upstream_responses_total", {{"cluster", "e"}}), 0);
  EXPECT_EQ(m.sum("sluice_http_requests_total"), 0);

  std::string output;
  EXPECT_EQ(promtool_check(admin("GET", "/metrics").body, &output), 0) << output;
}

TEST_F(MetricsTrafficTest, InFlightGaugesFollowASlowRequest) {
  Backend& backend = add_backend("b0");
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice("workers: 1\n" + admin_yaml() +
                           "listeners:\n"
                           "  - name: web\n"
                           "    listen: 127.0.0.1:" +
                           std::to_string(port) +
                           "\n"
                           "    protocol: http\n"
                           "    routes: [ { match: { path_prefix: / }, cluster: lc } ]\n"
                           "clusters:\n"
                           "  - name: lc\n"
                           "    balancer: { type: least_conn }\n"
                           "    endpoints: [ { address: " +
                           backend.address() + " } ]\n"));
  const std::string ep = "{cluster=\"lc\",endpoint=\"" + backend.address() + "\"}";
  HttpClient c = connect_http(port);
  ASSERT_TRUE(c.send(request("GET", "/sleep?ms=800")));
  EXPECT_EQ(wait_metric("sluice_endpoint_requests_in_flight" + ep, 1), 1);
  const MetricSet during = scrape();
  EXPECT_EQ(during.get("sluice_downstream_connections_active{listener=\"web\"}"), 1);
  EXPECT_EQ(during.get("sluice_upstream_connections_active{cluster=\"lc\"}"), 1);
  AdminReply clusters = admin("GET", "/clusters");
  EXPECT_EQ(
      boost::json::parse(clusters.body).at("clusters").at(0).at("endpoints").at(0).at("in_flight"),
      1)
      << clusters.body;

  std::string error;
  auto r = c.read_response(Millis(5000), false, &error);
  ASSERT_TRUE(r.has_value()) << error;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(wait_metric("sluice_endpoint_requests_in_flight" + ep, 0), 0);
  c = HttpClient();
  EXPECT_EQ(wait_metric("sluice_downstream_connections_active{listener=\"web\"}", 0), 0);
  // The upstream connection stays pooled.
  EXPECT_EQ(scrape().get("sluice_upstream_connections_active{cluster=\"lc\"}"), 1);
}

// A balancer that does not track load (round robin) has no in-flight count:
// /clusters says null, and /metrics has no series rather than a 0 while a
// request is in flight (regression).
TEST_F(MetricsTrafficTest, InFlightIsNotReportedAsZeroWhenItIsNotTracked) {
  Backend& backend = add_backend("b0");
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(
      start_sluice("workers: 1\n" + admin_yaml() +
                   "listeners:\n  - { name: web, listen: 127.0.0.1:" + std::to_string(port) +
                   ", protocol: http, routes: [ { match: { path_prefix: / }, cluster: rr } ] }\n"
                   "clusters:\n  - { name: rr, endpoints: [ { address: " +
                   backend.address() + " } ] }\n"));
  HttpClient c = connect_http(port);
  ASSERT_TRUE(c.send(request("GET", "/sleep?ms=500")));
  ASSERT_EQ(wait_metric("sluice_upstream_requests_total{cluster=\"rr\"}", 1), 1);
  const std::string series =
      "sluice_endpoint_requests_in_flight{cluster=\"rr\",endpoint=\"" + backend.address() + "\"}";
  EXPECT_FALSE(scrape().has(series))
      << "an untracked in-flight count is exported as " << scrape().get(series);
  auto r = c.read_response(Millis(5000));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(MetricsTrafficTest, EndpointSeriesAreCappedAndTheRestCounted) {
  const uint16_t port = free_loopback_port();
  uint16_t p[4];
  for (uint16_t& x : p) x = free_loopback_port();  // never contacted
  auto ep = [&](int i) { return "{ address: 127.0.0.1:" + std::to_string(p[i]) + " }"; };
  ASSERT_TRUE(
      start_sluice("workers: 1\n"
                   "admin: { listen: 127.0.0.1:" +
                   std::to_string(admin_port()) +
                   ", max_endpoint_series: 1 }\n"
                   "listeners:\n"
                   "  - { name: t, listen: 127.0.0.1:" +
                   std::to_string(port) +
                   ", protocol: tcp, cluster: x }\n"
                   "clusters:\n"
                   "  - { name: x, endpoints: [ " +
                   ep(0) + ", " + ep(1) + " ] }\n  - { name: y, endpoints: [ " + ep(2) + ", " +
                   ep(3) + " ] }\n"));
  const MetricSet m = scrape();
  EXPECT_EQ(m.series_of("sluice_endpoint_weight").size(), 1u);
  EXPECT_EQ(m.series_of("sluice_endpoint_healthy").size(), 1u);
  EXPECT_EQ(m.get("sluice_endpoint_series_dropped"), 3);
  // Cluster-level series are never capped.
  EXPECT_TRUE(m.has("sluice_upstream_requests_total{cluster=\"x\"}"));
  EXPECT_TRUE(m.has("sluice_upstream_requests_total{cluster=\"y\"}"));
}

}  // namespace
}  // namespace sluice::testing
