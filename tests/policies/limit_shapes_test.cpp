// Rate-limit shapes end to end (issue #14), the refusing kind: fixed windows, combined keys,
// several limits on one route (which one refused, and nothing charged by the others), and
// RateLimit headers on admitted responses. Rates of a few per minute keep counts exact on a
// loaded machine; shaping is in shaping_test.cpp.
#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

class LimitShapesTest : public PolicyTest {
 protected:
  // One worker, an http listener on `port` with `listener_extra` lines and the routes /a and
  // /b to cluster c (backend b0), each with `route_limit` ("" for none); `limits` are the
  // "rate_limits:" entries.
  std::string yaml(uint16_t port, const std::string& route_limit, const std::string& limits,
                   const std::string& listener_extra = "") {
    std::string routes;
    for (const char* path : {"/a", "/b"}) {
      routes += std::string("      - match: { path_prefix: ") + path + " }\n        cluster: c\n";
      if (!route_limit.empty()) routes += "        rate_limit: " + route_limit + "\n";
    }
    return "workers: 1\n"
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port) + "\n    protocol: http\n" + listener_extra + "    routes:\n" +
           routes +
           "clusters:\n"
           "  - name: c\n"
           "    endpoints:\n" +
           endpoints_yaml({backends_.at(0).address()}) + "rate_limits:\n" + limits;
  }
};

int status(HttpClient& client, const std::string& path, const std::string& headers = "") {
  return client.get(path, headers).status;
}

TEST_F(LimitShapesTest, FixedWindowAdmitsTheCountPerWindow) {
  add_http_backend("b0");
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(yaml(port, "fw",
                              "  - { name: fw, key: client_ip, algorithm: fixed_window, "
                              "rate: 3/min }\n")),
            0);
  HttpClient a(port, "127.0.0.2");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(status(a, "/a"), 200) << i;
  HttpResponse r = a.get("/a");
  ASSERT_EQ(r.status, 429);
  EXPECT_EQ(r.header("ratelimit-policy"), "\"fw\";q=3;w=60");
  // Retry-After is the rest of the window: at most a minute.
  const int retry = std::stoi(r.header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  HttpClient b(port, "127.0.0.3");
  EXPECT_EQ(status(b, "/a"), 200);
}

TEST_F(LimitShapesTest, CombinedKeyCountsEachClientOnEachRouteApart) {
  add_http_backend("b0");
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(yaml(port, "pair",
                              "  - name: pair\n"
                              "    key: [client_ip, route]\n"
                              "    rate: 1/min\n"
                              "    burst: 2\n")),
            0);
  HttpClient one(port, "127.0.0.2");
  HttpClient two(port, "127.0.0.3");
  EXPECT_EQ(status(one, "/a"), 200);
  EXPECT_EQ(status(one, "/a"), 200);
  EXPECT_EQ(status(one, "/a"), 429);
  EXPECT_EQ(status(one, "/b"), 200);  // same client, other route
  EXPECT_EQ(status(two, "/a"), 200);  // other client, same route
  EXPECT_EQ(status(two, "/a"), 200);
  EXPECT_EQ(status(two, "/a"), 429);
  EXPECT_EQ(status(one, "/b"), 200);
  EXPECT_EQ(status(one, "/b"), 429);
}

TEST_F(LimitShapesTest, SeveralLimitsAllMustAdmitAndTheRefusalSaysWhich) {
  add_http_backend("b0");
  const uint16_t port = free_loopback_port();
  // The listener's per-client limit, then each route's [per-key, per-route].
  ASSERT_GE(start_sluice(yaml(port, "[per-key, per-route]",
                              "  - { name: per-client, key: client_ip, rate: 1/min, burst: 6 }\n"
                              "  - { name: per-key, key: \"header:X-Api-Key\", rate: 1/min, "
                              "burst: 2 }\n"
                              "  - { name: per-route, key: route, algorithm: fixed_window, "
                              "rate: 3/min }\n",
                              "    rate_limit: per-client\n")),
            0);
  HttpClient c(port, "127.0.0.2");
  const std::string k1 = "X-Api-Key: one\r\n", k2 = "X-Api-Key: two\r\n";
  EXPECT_EQ(status(c, "/a", k1), 200);
  EXPECT_EQ(status(c, "/a", k1), 200);
  HttpResponse r = c.get("/a", k1);  // key one's bucket is empty
  ASSERT_EQ(r.status, 429);
  EXPECT_EQ(r.header("ratelimit-policy"), "\"per-key\";q=1;w=60");
  EXPECT_EQ(r.header("ratelimit").rfind("\"per-key\";r=0;", 0), 0u) << r.header("ratelimit");
  // The refused request was given back to per-client and per-route: /a still has one of
  // its 3 and the client 4 of its 6.
  EXPECT_EQ(status(c, "/a", k2), 200);
  r = c.get("/a", k2);
  ASSERT_EQ(r.status, 429);
  EXPECT_EQ(r.header("ratelimit-policy"), "\"per-route\";q=3;w=60");
  EXPECT_EQ(status(c, "/b", k2), 200);
  // Client total: 4 admitted; two more (on /b, with fresh keys) reach 6, then the listener's
  // limit refuses first.
  EXPECT_EQ(status(c, "/b", "X-Api-Key: three\r\n"), 200);
  EXPECT_EQ(status(c, "/b", "X-Api-Key: four\r\n"), 200);
  r = c.get("/b", "X-Api-Key: five\r\n");
  ASSERT_EQ(r.status, 429);
  EXPECT_EQ(r.header("ratelimit-policy"), "\"per-client\";q=1;w=60");
}

TEST_F(LimitShapesTest, HeadersAlwaysOnAdmittedResponses) {
  add_http_backend("b0");
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(yaml(port, "[shown, quiet]",
                              "  - { name: shown, key: client_ip, rate: 1/min, burst: 3, "
                              "headers: always }\n"
                              "  - { name: quiet, key: client_ip, rate: 1/min, burst: 10 }\n")),
            0);
  HttpClient c(port);
  HttpResponse r = c.get("/a");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.backend(), "b0");
  EXPECT_EQ(r.header("ratelimit-policy"), "\"shown\";q=1;w=60");  // only the limit that asks
  EXPECT_EQ(r.header("ratelimit").rfind("\"shown\";r=2;t=", 0), 0u) << r.header("ratelimit");
  EXPECT_EQ(c.get("/a").header("ratelimit").rfind("\"shown\";r=1;", 0), 0u);
  EXPECT_EQ(c.get("/a").header("ratelimit").rfind("\"shown\";r=0;", 0), 0u);
  EXPECT_EQ(c.get("/a").status, 429);
}

}  // namespace
}  // namespace sluice::testing
