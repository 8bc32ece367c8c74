// Once a PROXY header named the client, it is the client everywhere the socket's peer was:
// an HTTP rate limit per client IP, consistent hashing on the client IP, and a tcp listener's
// connection rate limit, decided at accept before (now: right after the header). Every
// connection here comes from 127.0.0.1, so without the header all of these would see one
// client.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "tests/http_integration/upstream.hpp"
#include "tests/observability/obs_fixture.hpp"
#include "tests/proxy_protocol/pp_util.hpp"

namespace sluice::testing {
namespace {

class ProxyProtocolClient : public ObsTest {
 protected:
  std::string listener(const std::string& name, uint16_t port, const std::string& rest) {
    return "  - name: " + name + "\n    listen: 127.0.0.1:" + std::to_string(port) +
           "\n    proxy_protocol: { trusted: [127.0.0.0/8] }\n" + rest;
  }

  // One request on a new connection whose header names `client`; the status (0: none).
  int get_as(const char* client, uint16_t port, const std::string& target = "/") {
    HttpClient c(connect_from("127.0.0.1", port));
    if (!c.send(proxy_header(client, 40000, port) + request("GET", target))) return 0;
    auto r = c.read_response(Millis(5000));
    return r ? r->status : 0;
  }
};

TEST_F(ProxyProtocolClient, AnHttpRateLimitPerClientIpCountsTheRealClient) {
  Backend& b = add_backend("b", "http");
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(
      "workers: 1\n" + admin_yaml() + "listeners:\n" +
      listener("web", port,
               "    protocol: http\n    rate_limit: per-client\n"
               "    routes: [{ match: { path_prefix: / }, cluster: app }]\n") +
      "clusters:\n  - { name: app, endpoints: [{ address: " + b.address() +
      " }] }\n"
      "rate_limits:\n  - { name: per-client, key: client_ip, rate: 1/min, burst: 1 }\n"));
  EXPECT_EQ(get_as("198.51.100.1", port), 200);
  EXPECT_EQ(get_as("198.51.100.1", port), 429);  // the same client, over its limit
  EXPECT_EQ(get_as("198.51.100.2", port), 200);  // another one, from the same socket peer
  EXPECT_EQ(get_as("2001:db8::1", port), 200);
}

// Access control by client address judges the client the header names, and each refusal is
// counted where its rule was.
TEST_F(ProxyProtocolClient, AccessControlJudgesTheRealClientAndCountsItsRefusals) {
  Backend& b = add_backend("b", "http");
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice("workers: 1\n" + admin_yaml() + "listeners:\n" +
                           listener("web", port,
                                    "    protocol: http\n    access: { deny: [198.51.100.0/24] }\n"
                                    "    routes:\n"
                                    "      - { match: { path_prefix: /admin }, cluster: app,"
                                    " access: { allow: ['2001:db8::/32'] } }\n"
                                    "      - { match: { path_prefix: / }, cluster: app }\n") +
                           "clusters:\n  - { name: app, endpoints: [{ address: " + b.address() +
                           " }] }\n"));
  EXPECT_EQ(get_as("198.51.100.1", port), 403);           // the listener's deny
  EXPECT_EQ(get_as("203.0.113.1", port), 200);            // the same socket peer, another client
  EXPECT_EQ(get_as("203.0.113.1", port, "/admin"), 403);  // the route's allow
  EXPECT_EQ(get_as("2001:db8::1", port, "/admin"), 200);
  const MetricSet m = scrape();
  EXPECT_EQ(m.sum("sluice_http_access_denied_total", {{"listener", "web"}, {"scope", "listener"}}),
            1);
  EXPECT_EQ(m.sum("sluice_http_access_denied_total", {{"listener", "web"}, {"scope", "route"}}), 1);
}

TEST_F(ProxyProtocolClient, ConsistentHashingOnTheClientIpFollowsTheRealClient) {
  std::map<std::string, std::string> answered_by;  // backend answers "backend NAME\n"
  Backend& a = add_backend("a", "http");
  Backend& b = add_backend("b", "http");
  Backend& c = add_backend("c", "http");
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(
      "workers: 1\n" + admin_yaml() + "listeners:\n" +
      listener("web", port,
               "    protocol: http\n    routes: [{ match: { path_prefix: / }, cluster: app }]\n") +
      "clusters:\n  - name: app\n    balancer: { type: consistent_hash, key: client_ip }\n"
      "    endpoints: [{ address: " +
      a.address() + " }, { address: " + b.address() + " }, { address: " + c.address() + " }]\n"));
  std::set<std::string> backends_seen;
  for (int round = 0; round < 2; ++round) {
    for (int i = 1; i <= 24; ++i) {
      const std::string ip = "203.0.113." + std::to_string(i);
      HttpClient client(connect_from("127.0.0.1", port));
      ASSERT_TRUE(client.send(proxy_header(ip.c_str(), 1000, port) + request("GET", "/")));
      auto r = client.read_response(Millis(5000));
      ASSERT_TRUE(r && r->status == 200);
      if (round == 0) {
        answered_by[ip] = r->body;
        backends_seen.insert(r->body);
      } else {
        EXPECT_EQ(r->body, answered_by[ip]) << ip << " moved";
      }
    }
  }
  // One socket peer, yet the clients spread over the endpoints by their own addresses.
  EXPECT_EQ(backends_seen.size(), 3u);
}

TEST_F(ProxyProtocolClient, ATcpListenersConnectionRateLimitCountsTheRealClient) {
  Backend& echo = add_backend("echo", "echo");
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(
      "workers: 1\n" + admin_yaml() + "listeners:\n" +
      listener("raw", port, "    protocol: tcp\n    cluster: e\n    rate_limit: conns\n") +
      "clusters:\n  - { name: e, endpoints: [{ address: " + echo.address() +
      " }] }\n"
      "rate_limits:\n  - { name: conns, key: client_ip, rate: 1/min, burst: 1 }\n"));
  // The bytes behind the header (sent with it, in one segment) come back from the echo.
  auto relay_as = [&](const char* client) {
    Socket s = connect_from("127.0.0.1", port);
    std::string answer;
    exchange(s, proxy_header(client, 5000, port) + "ping " + client, &answer, Millis(3000));
    return answer;
  };
  EXPECT_EQ(relay_as("198.51.100.1"), "ping 198.51.100.1");
  EXPECT_EQ(relay_as("198.51.100.1"), "");  // refused: this client's one connection a minute
  EXPECT_EQ(relay_as("198.51.100.2"), "ping 198.51.100.2");
  EXPECT_EQ(scrape().sum("sluice_rate_limit_decisions_total", {{"policy", "conns"}}), 3);
}

}  // namespace
}  // namespace sluice::testing
