// Route fallbacks through the real binary: once the breaker opens, the static response (its
// body read from a file when the config loaded) answers instead of 503 circuit-open, and the
// access log says so; a cluster with no routable endpoint hands its requests to the fallback
// cluster, counted by reason in /metrics.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class FallbackTest : public PolicyTest {
 protected:
  std::string read_access_log() {
    std::ifstream in(dir_.path() + "/access.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string admin_get(const std::string& path) {
    Socket s = connect_loopback(admin_port_, Millis(5000));
    if (!s.valid()) return "";
    if (!send_all(s, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                  Millis(5000)))
      return "";
    ReceiveResult r = recv_until_eof(s, Millis(5000));
    const size_t body = r.data.find("\r\n\r\n");
    return body == std::string::npos ? "" : r.data.substr(body + 4);
  }

  uint16_t admin_port_ = 0;
};

TEST_F(FallbackTest, AnOpenBreakerIsAnsweredByTheStaticFallbackAndLogged) {
  Backend& backend = add_http_backend("b0");
  dir_.write("sorry.html", "<h1>back in a minute</h1>\n");
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice("workers: 1\n"
                         "log:\n"
                         "  access: { path: " +
                         dir_.path() +
                         "/access.log, format: json }\n"
                         "listeners:\n"
                         "  - name: web\n"
                         "    listen: 127.0.0.1:" +
                         std::to_string(port) +
                         "\n"
                         "    protocol: http\n"
                         "    timeouts: { request: 300ms }\n"
                         "    retries: { attempts: 0 }\n"
                         "    routes:\n"
                         "      - name: site\n"
                         "        match: { path_prefix: / }\n"
                         "        cluster: c\n"
                         "        fallback:\n"
                         "          on: [circuit-open]\n"
                         "          response:\n"
                         "            status: 503\n"
                         "            headers: { Content-Type: text/html, Retry-After: \"60\" }\n"
                         "            body_file: " +
                         dir_.path() +
                         "/sorry.html\n"
                         "clusters:\n"
                         "  - name: c\n"
                         "    endpoints:\n" +
                         endpoints_yaml({backend.address()}) +
                         "    circuit_breaker: { consecutive_failures: 3, open_for: 30s }\n"),
            0);
  HttpClient client(port);
  ASSERT_EQ(client.get("/").status, 200);
  ASSERT_EQ(::kill(backend.process.pid(), SIGSTOP), 0);
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = client.get("/");
    EXPECT_EQ(r.status, 504) << r.error;  // retries-exhausted is not covered: the error stands
  }
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = client.get("/");
    EXPECT_EQ(r.status, 503) << r.error;
    EXPECT_EQ(r.body, "<h1>back in a minute</h1>\n");
    EXPECT_EQ(r.header("content-type"), "text/html");
    EXPECT_EQ(r.header("retry-after"), "60");
    EXPECT_EQ(r.header("x-sluice-error"), "");
  }
  ASSERT_EQ(::kill(backend.process.pid(), SIGCONT), 0);
  std::string log;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (count_occurrences(log, "\"fallback\":\"circuit-open\"") < 5 && Clock::now() < deadline) {
    std::this_thread::sleep_for(Millis(50));
    log = read_access_log();
  }
  EXPECT_EQ(count_occurrences(log, "\"fallback\":\"circuit-open\""), 5u) << log;
  EXPECT_EQ(count_occurrences(log, "\"error\":\"circuit-open\",\"fallback\":\"circuit-open\""), 5u)
      << log;
  EXPECT_EQ(count_occurrences(log, "\"fallback\":null"), 4u) << log;
}

TEST_F(FallbackTest, NoRoutableEndpointSendsRequestsToTheFallbackCluster) {
  Backend& spare = add_http_backend("spare");
  uint16_t dead_port = 0;
  Socket dead = reserve_refusing_port(&dead_port);
  ASSERT_TRUE(dead.valid());
  const uint16_t port = free_loopback_port();
  admin_port_ = free_loopback_port();
  ASSERT_GE(start_sluice("workers: 1\n"
                         "admin: { listen: 127.0.0.1:" +
                         std::to_string(admin_port_) +
                         " }\n"
                         "listeners:\n"
                         "  - name: web\n"
                         "    listen: 127.0.0.1:" +
                         std::to_string(port) +
                         "\n"
                         "    protocol: http\n"
                         "    routes:\n"
                         "      - name: app\n"
                         "        match: { path_prefix: / }\n"
                         "        cluster: main\n"
                         "        fallback: { on: [no-endpoint], cluster: spare }\n"
                         "clusters:\n"
                         "  - name: main\n"
                         "    endpoints:\n" +
                         endpoints_yaml({loopback_address(dead_port)}) +
                         "    health_check: { interval: 100ms, timeout: 50ms, unhealthy: 1 }\n"
                         "    panic: fail_closed\n"
                         "  - name: spare\n"
                         "    endpoints:\n" +
                         endpoints_yaml({spare.address()})),
            0);
  HttpClient client(port);
  // Once the check has taken the only endpoint out, every request goes to `spare`.
  HttpResponse r;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  do {
    r = client.get("/");
    if (r.status == 200) break;
    std::this_thread::sleep_for(Millis(50));
  } while (Clock::now() < deadline);
  ASSERT_EQ(r.status, 200) << r.error << "\n" << sluice().describe();
  for (int i = 0; i < 20; ++i) {
    HttpResponse more = client.get("/");
    EXPECT_EQ(more.status, 200);
    EXPECT_EQ(more.backend(), "spare");
  }
  const std::string metrics = admin_get("/metrics");
  const std::string series =
      "sluice_http_fallbacks_total{listener=\"web\",route=\"app\",cluster=\"main\","
      "reason=\"no-endpoint\"} ";
  const size_t at = metrics.find(series);
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GE(std::stod(metrics.substr(at + series.size())), 21.0);
}

}  // namespace
}  // namespace sluice::testing
