// match_route: first route that fits, by host, path, method and headers.
#include <gtest/gtest.h>

#include <string>

#include "http_test_util.hpp"
#include "proxy/l7/h1/route.hpp"

namespace sluice::proxy::http {
namespace {

config::Route route(std::string cluster, config::RouteMatch match) {
  config::Route r;
  r.cluster = std::move(cluster);
  r.match = std::move(match);
  return r;
}

class RouteTest : public ::testing::Test {
 protected:
  // Parses a request and returns the cluster of the matching route, or "-".
  std::string pick(const std::vector<config::Route>& routes, std::string_view raw) {
    auto p = HeadParser::request({});
    size_t consumed = 0;
    EXPECT_EQ(p.feed(raw, consumed), Status::done) << p.error().code;
    const config::Route* r = match_route(routes, p.head());
    return r ? r->cluster : "-";
  }
  static std::string req(std::string_view host, std::string_view target = "/",
                         std::string_view method = "GET", std::string_view extra = "") {
    return std::string(method) + " " + std::string(target) +
           " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n" + std::string(extra) + "\r\n";
  }
};

TEST_F(RouteTest, HostExactWildcardAndPort) {
  std::vector<config::Route> routes = {
      route("exact", {.host = "api.example.com"}),
      route("wild", {.host = "*.example.com"}),
      route("any", {}),
  };
  EXPECT_EQ(pick(routes, req("api.example.com")), "exact");
  EXPECT_EQ(pick(routes, req("API.Example.COM:8443")), "exact");
  EXPECT_EQ(pick(routes, req("api.example.com.")), "exact");
  EXPECT_EQ(pick(routes, req("www.example.com")), "wild");
  EXPECT_EQ(pick(routes, req("a.b.example.com:80")), "wild");
  EXPECT_EQ(pick(routes, req("example.com")), "any");
  EXPECT_EQ(pick(routes, req("badexample.com")), "any");
  EXPECT_EQ(pick(routes, req("[::1]:8080")), "any");
}

TEST_F(RouteTest, Ipv6HostWithoutPort) {
  EXPECT_EQ(host_without_port("[::1]:8080"), "[::1]");
  EXPECT_EQ(host_without_port("[::1]"), "[::1]");
  EXPECT_EQ(host_without_port("a:1"), "a");
  std::vector<config::Route> routes = {route("v6", {.host = "[::1]"})};
  EXPECT_EQ(pick(routes, req("[::1]:8080")), "v6");
}

TEST_F(RouteTest, PrefixVersusExactAndFirstWins) {
  std::vector<config::Route> routes = {
      route("health", {.path_exact = "/healthz"}),
      route("v1", {.path_prefix = "/v1/"}),
      route("root", {.path_prefix = "/"}),
  };
  EXPECT_EQ(pick(routes, req("a", "/healthz")), "health");
  EXPECT_EQ(pick(routes, req("a", "/healthz?full=1")), "health");
  EXPECT_EQ(pick(routes, req("a", "/healthz/x")), "root");
  EXPECT_EQ(pick(routes, req("a", "/v1/items")), "v1");
  EXPECT_EQ(pick(routes, req("a", "/v1")), "root");
  EXPECT_EQ(pick(routes, req("a", "http://a/v1/x")), "v1");
}

TEST_F(RouteTest, MethodsAndHeaders) {
  std::vector<config::Route> routes = {
      route("writes", {.methods = {"POST", "PUT"}}),
      route("canary", {.headers = {{"X-Canary", std::string("1")}}}),
      route("beta", {.headers = {{"x-beta", std::nullopt}}}),
  };
  EXPECT_EQ(pick(routes, req("a", "/", "POST")), "writes");
  EXPECT_EQ(pick(routes, req("a", "/", "post")), "-");  // methods are case-sensitive
  EXPECT_EQ(pick(routes, req("a", "/", "GET", "x-canary: 1\r\n")), "canary");
  EXPECT_EQ(pick(routes, req("a", "/", "GET", "X-Canary: 2\r\n")), "-");
  EXPECT_EQ(pick(routes, req("a", "/", "GET", "X-Canary: 2\r\nX-Canary: 1\r\n")), "canary");
  EXPECT_EQ(pick(routes, req("a", "/", "GET", "X-Beta:\r\n")), "beta");
  EXPECT_EQ(pick(routes, req("a", "/")), "-");
}

TEST_F(RouteTest, AllConditionsMustHold) {
  std::vector<config::Route> routes = {
      route("all", {.host = "*.example.com",
                    .path_prefix = "/api",
                    .methods = {"GET"},
                    .headers = {{"X-Key", std::nullopt}}}),
  };
  EXPECT_EQ(pick(routes, req("w.example.com", "/api/x", "GET", "X-Key: k\r\n")), "all");
  EXPECT_EQ(pick(routes, req("w.example.org", "/api/x", "GET", "X-Key: k\r\n")), "-");
  EXPECT_EQ(pick(routes, req("w.example.com", "/x", "GET", "X-Key: k\r\n")), "-");
  EXPECT_EQ(pick(routes, req("w.example.com", "/api/x", "HEAD", "X-Key: k\r\n")), "-");
  EXPECT_EQ(pick(routes, req("w.example.com", "/api/x", "GET")), "-");
  EXPECT_EQ(match_route({}, Head{}), nullptr);
}

}  // namespace
}  // namespace sluice::proxy::http
