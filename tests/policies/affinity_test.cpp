// Cookie stickiness, the retry budget and deadlines through the real binary: a client keeps
// its endpoint for 1,000 requests and across a reload, and moves (with a new cookie) when
// its endpoint is removed by a reload or by the discovery file; during an outage the retry
// budget keeps retries from multiplying the attempts; a trusted client's deadline wins over
// the route's timeout.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class AffinityTest : public PolicyTest {
 protected:
  std::string config(uint16_t port, const std::string& cluster_body) {
    admin_port_ = admin_port_ != 0 ? admin_port_ : free_loopback_port();
    return "workers: 2\n"
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
           "      - { match: { path_prefix: / }, cluster: c }\n"
           "clusters:\n"
           "  - name: c\n"
           "    sticky_cookie: { name: SRV, secret: s3cret, max_age: 1h }\n" +
           cluster_body;
  }

  void reload(const std::string& yaml) {
    const size_t before = count_occurrences(sluice().stderr_text(), "configuration reloaded");
    dir_.write("sluice-0.yaml", yaml);
    ASSERT_EQ(::kill(sluice().pid(), SIGHUP), 0);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (count_occurrences(sluice().stderr_text(), "configuration reloaded") == before) {
      ASSERT_EQ(sluice().stderr_text().find("reload failed"), std::string::npos)
          << sluice().describe();
      ASSERT_LT(Clock::now(), deadline) << "no reload\n" << sluice().describe();
      std::this_thread::sleep_for(Millis(10));
    }
  }

  // "SRV=<value>" out of a Set-Cookie header; "" when there is none.
  static std::string cookie_of(const HttpResponse& r) {
    const std::string set = r.header("set-cookie");
    const size_t end = set.find(';');
    return set.substr(0, end);
  }

  // Sends `n` requests carrying `cookie`; every backend name they reached, in order.
  static std::vector<std::string> backends_with(HttpClient& client, const std::string& cookie,
                                                int n, int* set_again) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      HttpResponse r = client.get("/", "Cookie: " + cookie + "\r\n");
      out.push_back(r.ok() ? r.backend() : "error: " + r.error);
      if (!r.header("set-cookie").empty()) ++*set_again;
    }
    return out;
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
  double metric(const std::string& series) {
    const std::string text = admin_get("/metrics");
    const std::string prefix = series + " ";
    for (size_t pos = 0; pos < text.size();) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      if (text.compare(pos, prefix.size(), prefix) == 0)
        return std::stod(text.substr(pos + prefix.size(), end - pos - prefix.size()));
      pos = end + 1;
    }
    return -1;
  }

  uint16_t admin_port_ = 0;
};

TEST_F(AffinityTest, ACookieHoldsForAThousandRequestsAndAReloadThenMovesWhenItsEndpointGoes) {
  std::vector<std::string> addresses;
  for (const char* name : {"b0", "b1", "b2"}) addresses.push_back(add_http_backend(name).address());
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(config(port, "    endpoints:\n" + endpoints_yaml(addresses))), 0);

  HttpClient client(port);
  HttpResponse first = client.get("/");
  ASSERT_EQ(first.status, 200) << first.error;
  const std::string cookie = cookie_of(first);
  ASSERT_EQ(cookie.rfind("SRV=", 0), 0u) << first.header("set-cookie");
  EXPECT_EQ(cookie.size(), 4u + 16u);
  EXPECT_NE(first.header("set-cookie").find("Max-Age=3600"), std::string::npos);
  const std::string home = first.backend();

  // Round robin alone would spread these over all three; every one goes home, on new
  // connections too (either worker), and the cookie is not set again.
  int set_again = 0;
  std::vector<std::string> reached = backends_with(client, cookie, 1000, &set_again);
  for (int i = 0; i < 5; ++i) {
    HttpClient fresh(port);
    auto more = backends_with(fresh, cookie, 1, &set_again);
    reached.insert(reached.end(), more.begin(), more.end());
  }
  EXPECT_EQ(std::count(reached.begin(), reached.end(), home), 1005) << "home " << home;
  EXPECT_EQ(set_again, 0);

  // A reload that reorders the endpoints keeps the value meaning the same endpoint.
  std::vector<std::string> reordered(addresses.rbegin(), addresses.rend());
  reload(config(port, "    endpoints:\n" + endpoints_yaml(reordered)));
  reached = backends_with(client, cookie, 50, &set_again);
  EXPECT_EQ(std::count(reached.begin(), reached.end(), home), 50);
  EXPECT_EQ(set_again, 0);

  // The home endpoint leaves the config: the balancer picks another and the cookie moves.
  std::vector<std::string> rest;
  for (size_t i = 0; i < addresses.size(); ++i)
    if ("b" + std::to_string(i) != home) rest.push_back(addresses[i]);
  ASSERT_EQ(rest.size(), 2u);
  reload(config(port, "    endpoints:\n" + endpoints_yaml(rest)));
  HttpResponse moved = client.get("/", "Cookie: " + cookie + "\r\n");
  ASSERT_EQ(moved.status, 200) << moved.error;
  EXPECT_NE(moved.backend(), home);
  const std::string new_cookie = cookie_of(moved);
  ASSERT_FALSE(new_cookie.empty());
  EXPECT_NE(new_cookie, cookie);
  set_again = 0;
  reached = backends_with(client, new_cookie, 200, &set_again);
  EXPECT_EQ(std::count(reached.begin(), reached.end(), moved.backend()), 200);
  EXPECT_EQ(set_again, 0);
}

TEST_F(AffinityTest, ACookieMovesWhenTheDiscoveryFileDropsItsEndpoint) {
  std::vector<std::string> addresses;
  for (const char* name : {"b0", "b1", "b2"}) addresses.push_back(add_http_backend(name).address());
  auto file_of = [](const std::vector<std::string>& list) {
    std::string out = "endpoints:\n";
    for (const auto& a : list) out += "  - \"" + a + "\"\n";
    return out;
  };
  dir_.write("endpoints.yaml", file_of(addresses));
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(config(port, "    discovery:\n      file: { path: " + dir_.path() +
                                          "/endpoints.yaml, poll_interval: 100ms }\n")),
            0);
  HttpClient client(port);
  HttpResponse first = client.get("/");
  ASSERT_EQ(first.status, 200) << first.error;
  const std::string cookie = cookie_of(first);
  const std::string home = first.backend();
  int set_again = 0;
  std::vector<std::string> reached = backends_with(client, cookie, 1000, &set_again);
  EXPECT_EQ(std::count(reached.begin(), reached.end(), home), 1000);
  EXPECT_EQ(set_again, 0);

  // An update that keeps every endpoint (another order) changes nothing for the cookie.
  dir_.write("endpoints.yaml", file_of({addresses[2], addresses[0], addresses[1]}));
  std::this_thread::sleep_for(Millis(500));
  reached = backends_with(client, cookie, 50, &set_again);
  EXPECT_EQ(std::count(reached.begin(), reached.end(), home), 50);

  std::vector<std::string> rest;
  for (size_t i = 0; i < addresses.size(); ++i)
    if ("b" + std::to_string(i) != home) rest.push_back(addresses[i]);
  dir_.write("endpoints.yaml", file_of(rest));  // one of three: below hold_fraction, applied
  HttpResponse moved;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  do {
    moved = client.get("/", "Cookie: " + cookie + "\r\n");
    ASSERT_EQ(moved.status, 200) << moved.error;
    if (moved.backend() != home) break;
    std::this_thread::sleep_for(Millis(50));
  } while (Clock::now() < deadline);
  ASSERT_NE(moved.backend(), home) << "the removal never applied\n" << sluice().describe();
  const std::string new_cookie = cookie_of(moved);
  ASSERT_FALSE(new_cookie.empty());
  set_again = 0;
  reached = backends_with(client, new_cookie, 200, &set_again);
  EXPECT_EQ(std::count(reached.begin(), reached.end(), moved.backend()), 200);
  EXPECT_EQ(set_again, 0);
}

TEST_F(AffinityTest, DuringAnOutageTheRetryBudgetKeepsRetriesFromMultiplying) {
  // Three endpoints that refuse every connect; each request may try all three.
  std::vector<Socket> closed(3);
  std::vector<std::string> dead;
  for (Socket& s : closed) {
    uint16_t p = 0;
    s = reserve_refusing_port(&p);
    ASSERT_TRUE(s.valid());
    dead.push_back(loopback_address(p));
  }
  const uint16_t port = free_loopback_port();
  admin_port_ = free_loopback_port();
  auto cluster = [&](const std::string& name, const std::string& extra) {
    return "  - name: " + name + "\n    endpoints:\n" + endpoints_yaml(dead) + extra;
  };
  ASSERT_GE(
      start_sluice("workers: 1\n"
                   "admin: { listen: 127.0.0.1:" +
                   std::to_string(admin_port_) +
                   " }\n"
                   "listeners:\n"
                   "  - name: web\n"
                   "    listen: 127.0.0.1:" +
                   std::to_string(port) +
                   "\n"
                   "    protocol: http\n"
                   "    retries: { attempts: 2 }\n"
                   "    routes:\n"
                   "      - { match: { path_prefix: /budgeted }, cluster: budgeted }\n"
                   "      - { match: { path_prefix: / }, cluster: free }\n"
                   "clusters:\n" +
                   cluster("budgeted", "    retry_budget: { ratio: 0.5, min_concurrency: 0 }\n") +
                   cluster("free", "")),
      0);
  HttpClient client(port);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client.get("/budgeted").status, 502);
    EXPECT_EQ(client.get("/free").status, 502);
  }
  // One request in flight at a time: 0.5 x 1 leaves no room, so the budgeted cluster sees
  // one attempt per request; the other three.
  EXPECT_EQ(metric("sluice_upstream_requests_total{cluster=\"budgeted\"}"), 20);
  EXPECT_EQ(metric("sluice_upstream_retries_total{cluster=\"budgeted\"}"), 0);
  EXPECT_EQ(metric("sluice_upstream_retries_over_budget_total{cluster=\"budgeted\"}"), 20);
  EXPECT_EQ(metric("sluice_upstream_requests_total{cluster=\"free\"}"), 60);
  EXPECT_EQ(metric("sluice_upstream_retries_total{cluster=\"free\"}"), 40);
  EXPECT_EQ(metric("sluice_upstream_retries_over_budget_total{cluster=\"free\"}"), 0);
}

TEST_F(AffinityTest, ATrustedCallersDeadlineWinsOverTheRouteTimeout) {
  Backend& b = add_http_backend("slow");
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice("workers: 1\n"
                         "listeners:\n"
                         "  - name: web\n"
                         "    listen: 127.0.0.1:" +
                         std::to_string(port) +
                         "\n"
                         "    protocol: http\n"
                         "    timeouts: { request: 5s }\n"
                         "    retries: { attempts: 0 }\n"
                         "    deadline: { header: X-Deadline-Ms, trust_incoming: true }\n"
                         "    routes:\n"
                         "      - { match: { path_prefix: / }, cluster: c }\n"
                         "clusters:\n"
                         "  - name: c\n"
                         "    endpoints:\n" +
                         endpoints_yaml({b.address()})),
            0);
  HttpClient client(port);
  const auto start = Clock::now();
  HttpResponse r = client.get("/sleep?ms=2000", "X-Deadline-Ms: 300\r\n");
  EXPECT_EQ(r.status, 504) << r.error;
  EXPECT_EQ(r.header("x-sluice-error"), "upstream-timeout");
  EXPECT_LT(Clock::now() - start, Millis(1500));
  HttpResponse none = client.get("/", "X-Deadline-Ms: 0\r\n");
  EXPECT_EQ(none.status, 504);
  EXPECT_EQ(none.header("x-sluice-error"), "deadline-exceeded");
  EXPECT_EQ(client.get("/", "X-Deadline-Ms: 3000\r\n").status, 200);
}

}  // namespace
}  // namespace sluice::testing
