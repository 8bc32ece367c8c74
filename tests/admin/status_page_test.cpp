// render_status_page: a StatusPage built by hand (every state an endpoint, a breaker and the
// process can be in, names that try to be markup) and the exact HTML it must produce for each.
#include "proxy/control/admin/status_page.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy::admin {
namespace {

// What a hostile or careless config can put into a name.
constexpr const char* kEvil = "<script>alert('x')</script>&\"";
constexpr const char* kEvilEscaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;";

EndpointView endpoint(std::string address, uint32_t weight, bool ejected, bool backing_off,
                      std::optional<int64_t> in_flight) {
  EndpointView e;
  e.address = std::move(address);
  e.weight = weight;
  e.ejected = ejected;
  e.backing_off = backing_off;
  e.in_flight = in_flight;
  return e;
}

StatusPage sample_page() {
  StatusPage page;
  page.process.state = StatusPage::Process::State::serving;
  page.process.version = "0.1.0";
  page.process.uptime_seconds = 3725;  // 1h 2m 5s
  page.process.workers = 2;
  page.process.config_hash = "0123456789abcdef0123";
  page.process.reloads_succeeded = 3;
  page.process.reloads_failed = 1;
  page.process.redis = StatusPage::Process::Redis::down;
  page.process.generated_at = "2025-01-02 03:04:05 UTC";
  page.rate_seconds = 10;
  page.http = {1234, 5, 12.34, 0.5};

  StatusPage::Cluster& api = page.clusters.emplace_back();
  api.view.name = "api";
  api.view.balancer = "least_conn";
  api.view.breaker = limiter::CircuitBreakerStats{};
  api.view.breaker->state = limiter::BreakerState::half_open;
  api.view.outliers = OutliersView{1, 4, 0};
  api.view.limits = ClusterLimitsView{{0, 0, 0}, {0, 0, 0}, {2, 10, 3}};
  api.view.endpoints = {endpoint("10.0.0.1:80", 3, false, false, 7),
                        endpoint("10.0.0.2:80", 1, true, true, 0),
                        endpoint("10.0.0.3:80", 1, false, true, 1)};
  api.traffic = {1000, 4, 9.96, 0.25};
  api.connect_failures = 2;

  StatusPage::Cluster& evil = page.clusters.emplace_back();
  evil.view.name = kEvil;
  evil.view.balancer = "round_robin";
  evil.view.endpoints = {endpoint(kEvil, 1, false, false, std::nullopt)};

  page.routes = {
      {"web", "api", "api", 1000, 4}, {"web", "", "", 3, 0}, {kEvil, kEvil, kEvil, 1, 1}};
  page.rate_limits = {{"per-client", "token bucket", "global", "100/s", "client_ip", 50, 7},
                      {kEvil, "sliding window", "local", "10/min", "header:X-Key", 0, 0}};
  page.listeners = {{"web", "http", "127.0.0.1:8080", true, 4, 90},
                    {kEvil, "tcp", "127.0.0.1:9000", false, 0, 0}};
  return page;
}

void expect_contains(const std::string& html, const std::string& part) {
  EXPECT_NE(html.find(part), std::string::npos) << "missing: " << part << "\nin:\n" << html;
}

TEST(StatusPage, IsAStandaloneDocumentThatReloadsItself) {
  const std::string html = render_status_page(sample_page());
  EXPECT_EQ(
      html.rfind("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", 0), 0u);
  expect_contains(html, "<meta http-equiv=\"refresh\" content=\"5\">\n");
  expect_contains(html, "<title>sluice 0.1.0 &middot; serving</title>\n");
  EXPECT_EQ(html.substr(html.size() - 16), "</body>\n</html>\n");
  // Nothing to fetch and nothing to run: no script, no external style, no image.
  for (const char* forbidden : {"<script", "<link", "<img", "src=", "http://", "https://"})
    EXPECT_EQ(html.find(forbidden), std::string::npos) << forbidden;
}

TEST(StatusPage, ShowsTheProcess) {
  const std::string html = render_status_page(sample_page());
  expect_contains(html, "<h1>sluice <span class=\"b ok\">serving</span></h1>\n");
  expect_contains(
      html,
      "<p class=\"facts\">version <b>0.1.0</b> &middot; up <b>1h 2m</b> &middot; 2 "
      "workers &middot; config <code title=\"0123456789abcdef0123\">0123456789ab</code>"
      " &middot; reloads 3 ok, 1 failed &middot; Redis <span class=\"b bad\">down</span>"
      "</p>\n");
  expect_contains(html, "A reading taken at 2025-01-02 03:04:05 UTC;");

  StatusPage draining = sample_page();
  draining.process.state = StatusPage::Process::State::draining;
  draining.process.redis = StatusPage::Process::Redis::none;
  draining.process.workers = 1;
  draining.process.uptime_seconds = 42;
  const std::string d = render_status_page(draining);
  expect_contains(d, "<h1>sluice <span class=\"b warn\">draining</span></h1>\n");
  expect_contains(d, "up <b>42s</b> &middot; 1 worker &middot;");
  EXPECT_EQ(d.find("Redis"), std::string::npos);
}

TEST(StatusPage, ShowsRatesAndTheirWindow) {
  const std::string html = render_status_page(sample_page());
  expect_contains(html, "<h2>Traffic <span class=\"muted\">rates over the last 10 s</span></h2>");
  expect_contains(html,
                  "<div><div class=\"big\">12.3</div>HTTP requests/s</div>"
                  "<div><div class=\"big\">0.5</div>5xx/s</div>"
                  "<div><div class=\"big\">1234</div>requests since start</div>"
                  "<div><div class=\"big\">5</div>5xx since start</div>"
                  "<div><div class=\"big\">2/4</div>endpoints healthy</div>");
  expect_contains(html,
                  "<span class=\"b bad\">1 ejected</span> "
                  "<span class=\"b warn\">1 backing off</span> "
                  "<span class=\"b bad\">1 breaker(s) not closed</span>");

  StatusPage fresh = sample_page();
  fresh.rate_seconds = 0;
  expect_contains(render_status_page(fresh),
                  "rates since start (no second reading yet)</span></h2>");
}

TEST(StatusPage, ShowsEveryClusterWithItsBreakerAndEndpointStates) {
  const std::string html = render_status_page(sample_page());
  expect_contains(html,
                  "<h3>api <span class=\"muted\">least_conn</span> "
                  "<span class=\"b warn\">breaker half-open</span></h3>\n");
  expect_contains(
      html,
      "<p class=\"facts\">10.0 requests/s &middot; 0.2 5xx/s &middot; 1000 "
      "requests, 4 5xx since start, 2 failed connects &middot; 1 ejected now, 4 ejections &middot; "
      "limits: connections 0/&infin;, pending 0/&infin;, requests 2/10 "
      "(3 refused)</p>\n");
  expect_contains(html,
                  "<tr><td>10.0.0.1:80</td><td><span class=\"b ok\">healthy</span></td>"
                  "<td class=\"n\">3</td><td class=\"n\">7</td></tr>\n");
  // Ejected wins over backing off.
  expect_contains(html,
                  "<tr><td>10.0.0.2:80</td><td><span class=\"b bad\">ejected</span></td>"
                  "<td class=\"n\">1</td><td class=\"n\">0</td></tr>\n");
  expect_contains(html,
                  "<tr><td>10.0.0.3:80</td><td><span class=\"b warn\">backing off</span></td>"
                  "<td class=\"n\">1</td><td class=\"n\">1</td></tr>\n");
  // No breaker configured; no in-flight count kept.
  expect_contains(html, std::string("<h3>") + kEvilEscaped +
                            " <span class=\"muted\">round_robin</span> "
                            "<span class=\"b off\">no breaker</span></h3>\n");
  expect_contains(html, std::string("<tr><td>") + kEvilEscaped +
                            "</td><td><span class=\"b ok\">healthy</span></td>"
                            "<td class=\"n\">1</td><td class=\"n\">&ndash;</td></tr>\n");
}

TEST(StatusPage, BreakerStatesHaveTheirOwnWords) {
  StatusPage page = sample_page();
  page.clusters[0].view.breaker->state = limiter::BreakerState::open;
  expect_contains(render_status_page(page), "<span class=\"b bad\">breaker open</span></h3>");
  page.clusters[0].view.breaker->state = limiter::BreakerState::closed;
  const std::string closed = render_status_page(page);
  expect_contains(closed, "<span class=\"b ok\">breaker closed</span></h3>");
  expect_contains(closed, "<span class=\"b ok\">no breaker open</span>");
}

TEST(StatusPage, ShowsRoutesLimitsAndListeners) {
  const std::string html = render_status_page(sample_page());
  expect_contains(html,
                  "<tr><td>web</td><td>api</td><td>api</td><td class=\"n\">1000</td>"
                  "<td class=\"n\">4</td></tr>\n");
  expect_contains(html,
                  "<tr><td>web</td><td><i>no route matched</i></td><td><i>sluice</i></td>"
                  "<td class=\"n\">3</td><td class=\"n\">0</td></tr>\n");
  expect_contains(html,
                  "<tr><td>per-client</td><td>token bucket</td><td>global</td>"
                  "<td>100/s</td><td>client_ip</td><td class=\"n\">50</td>"
                  "<td class=\"n\">7</td></tr>\n");
  expect_contains(html,
                  "<tr><td>web</td><td>http + TLS</td><td>127.0.0.1:8080</td>"
                  "<td class=\"n\">4</td><td class=\"n\">90</td></tr>\n");
}

TEST(StatusPage, EscapesEveryNameFromTheConfig) {
  const std::string html = render_status_page(sample_page());
  // The cluster's heading, its endpoint, three route columns, a limit and a listener.
  size_t count = 0;
  for (size_t at = html.find(kEvilEscaped); at != std::string::npos;
       at = html.find(kEvilEscaped, at + 1))
    ++count;
  EXPECT_EQ(count, 7u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("alert('x')"), std::string::npos);
}

TEST(StatusPage, EndpointStateWords) {
  EXPECT_STREQ(endpoint_state(endpoint("a", 1, false, false, 0)), "healthy");
  EXPECT_STREQ(endpoint_state(endpoint("a", 1, false, true, 0)), "backing off");
  EXPECT_STREQ(endpoint_state(endpoint("a", 1, true, false, 0)), "ejected");
  EXPECT_STREQ(endpoint_state(endpoint("a", 1, true, true, 0)), "ejected");
}

}  // namespace
}  // namespace sluice::proxy::admin
