// GET / (the status page) through the real binary: an HTML page that names every cluster and
// endpoint with its state (healthy, backing off after refused connects, the breaker open), the
// rate limits and listeners, and, once traffic went through, its request count and a rate.
#include <functional>
#include <regex>
#include <thread>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

class StatusPageTest : public ObsTest {
 protected:
  // Cluster `api` (least_conn over two backends, so in-flight counts are kept) behind a local
  // rate limit, and cluster `broken` whose one endpoint refuses connects and whose breaker
  // opens after four failures.
  void SetUp() override {
    Backend& a = add_backend("a");
    Backend& b = add_backend("b");
    hold_ = reserve_refusing_port(&refusing_);
    ASSERT_TRUE(hold_.valid());
    port_ = free_loopback_port();
    ASSERT_TRUE(
        start_sluice("workers: 1\n" + admin_yaml() +
                     "listeners:\n"
                     "  - name: web\n"
                     "    listen: 127.0.0.1:" +
                     std::to_string(port_) +
                     "\n"
                     "    protocol: http\n"
                     "    routes:\n"
                     "      - { name: api, match: { path_prefix: /api }, cluster: api, rate_limit: "
                     "per-client }\n"
                     "      - { name: down, match: { path_prefix: /down }, cluster: broken, "
                     "retries: { attempts: 0 } }\n"
                     "clusters:\n"
                     "  - name: api\n"
                     "    balancer: { type: least_conn }\n"
                     "    endpoints: [ { address: " +
                     a.address() + ", weight: 2 }, { address: " + b.address() +
                     " } ]\n"
                     "  - name: broken\n"
                     "    endpoints: [ { address: " +
                     down() +
                     " } ]\n"
                     "    circuit_breaker: { consecutive_failures: 4, open_for: 60s }\n"
                     "rate_limits:\n"
                     "  - { name: per-client, key: client_ip, rate: 1000/s }\n"));
  }

  std::string down() const { return "127.0.0.1:" + std::to_string(refusing_); }

  // GET / until `done(body)` or 5 s; the last page.
  AdminReply page_until(const std::function<bool(const std::string&)>& done) {
    AdminReply r;
    for (int i = 0; i < 100; ++i) {
      r = admin("GET", "/");
      if (r.status == 200 && done(r.body)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return r;
  }

  Socket hold_;
  uint16_t refusing_ = 0;
  uint16_t port_ = 0;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The endpoint's table row: its address and its state badge.
std::string endpoint_row(const std::string& address, const std::string& css,
                         const std::string& state) {
  return "<tr><td>" + address + "</td><td><span class=\"b " + css + "\">" + state + "</span>";
}

TEST_F(StatusPageTest, ShowsClustersEndpointsLimitsAndListeners) {
  AdminReply r = admin("GET", "/");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_EQ(r.header("content-security-policy"),
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  const std::string& html = r.body;
  EXPECT_TRUE(contains(html, "<h1>sluice <span class=\"b ok\">serving</span></h1>")) << html;
  EXPECT_TRUE(contains(html,
                       "<h3>api <span class=\"muted\">least_conn</span> "
                       "<span class=\"b off\">no breaker</span></h3>"))
      << html;
  EXPECT_TRUE(contains(html,
                       "<h3>broken <span class=\"muted\">round_robin</span> "
                       "<span class=\"b ok\">breaker closed</span></h3>"))
      << html;
  EXPECT_TRUE(contains(html, endpoint_row(backends_[0].address(), "ok", "healthy") +
                                 "</td><td class=\"n\">2</td><td class=\"n\">0</td></tr>"))
      << html;
  EXPECT_TRUE(contains(html, endpoint_row(backends_[1].address(), "ok", "healthy") +
                                 "</td><td class=\"n\">1</td><td class=\"n\">0</td></tr>"))
      << html;
  EXPECT_TRUE(contains(html, endpoint_row(down(), "ok", "healthy") +
                                 "</td><td class=\"n\">1</td><td class=\"n\">&ndash;</td></tr>"))
      << html;
  EXPECT_TRUE(contains(html,
                       "<tr><td>per-client</td><td>token bucket</td><td>local</td>"
                       "<td>1000/s</td><td>client_ip</td>"))
      << html;
  EXPECT_TRUE(contains(
      html, "<tr><td>web</td><td>http</td><td>127.0.0.1:" + std::to_string(port_) + "</td>"))
      << html;
  EXPECT_TRUE(contains(html, "<div class=\"big\">0</div>requests since start")) << html;

  // The same page under /status; HEAD has its headers and no body.
  AdminReply status = admin("GET", "/status");
  EXPECT_EQ(status.status, 200);
  EXPECT_TRUE(contains(status.body, "<h3>broken ")) << status.body;
  AdminReply head = admin("HEAD", "/");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(head.body, "");
}

TEST_F(StatusPageTest, ShowsTrafficAndWhatItDidToTheEndpoints) {
  for (int i = 0; i < 20; ++i) {
    Response r = fetch_once(port_, request("GET", "/api/x"));
    ASSERT_EQ(r.status, 200) << i;
  }
  // Four refused connects: the endpoint backs off (8 s after the fourth) and the breaker opens.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(fetch_once(port_, request("GET", "/down")).status, 502);

  AdminReply r = page_until([](const std::string& html) {
    return contains(html, "<div class=\"big\">24</div>requests since start");
  });
  ASSERT_EQ(r.status, 200) << r.error;
  const std::string& html = r.body;
  EXPECT_TRUE(contains(html, "<div class=\"big\">24</div>requests since start")) << html;
  EXPECT_TRUE(contains(html, "<div class=\"big\">4</div>5xx since start")) << html;
  EXPECT_TRUE(contains(html, "<span class=\"b bad\">breaker open</span></h3>")) << html;
  EXPECT_TRUE(contains(html, "0 5xx since start, 4 failed connects</p>")) << html;
  EXPECT_TRUE(contains(html, endpoint_row(down(), "warn", "backing off"))) << html;
  EXPECT_TRUE(contains(html, "<div class=\"big\">2/3</div>endpoints healthy")) << html;
  EXPECT_TRUE(contains(html,
                       "<tr><td>web</td><td>api</td><td>api</td><td class=\"n\">20</td>"
                       "<td class=\"n\">0</td></tr>"))
      << html;
  EXPECT_TRUE(contains(html,
                       "<tr><td>web</td><td>down</td><td>broken</td><td class=\"n\">4</td>"
                       "<td class=\"n\">4</td></tr>"))
      << html;

  // The control loop reads the counters once a second: within a couple of seconds the rate
  // over its readings is above zero (24 requests over at most ten seconds).
  const std::regex rate(R"re(<div class="big">([0-9.]+)</div>HTTP requests/s)re");
  std::smatch m;
  AdminReply later = page_until([&](const std::string& page) {
    return std::regex_search(page, m, rate) && m[1] != "0.0" &&
           contains(page, "rates over the last");
  });
  ASSERT_TRUE(std::regex_search(later.body, m, rate)) << later.body;
  EXPECT_GE(std::stod(m[1]), 2.4) << later.body;
  EXPECT_LE(std::stod(m[1]), 24.0) << later.body;
}

TEST_F(StatusPageTest, IsGuardedLikeEveryAdminPath) {
  AdminReply foreign = admin_exchange(
      admin_port(), "GET / HTTP/1.1\r\nHost: evil.example:" + std::to_string(admin_port()) +
                        "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(foreign.status, 403) << foreign.raw;
  AdminReply framed = admin_exchange(
      admin_port(), "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(admin_port()) +
                        "\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(framed.status, 403) << framed.raw;
  EXPECT_EQ(admin("POST", "/").status, 405);
}

}  // namespace
}  // namespace sluice::testing
