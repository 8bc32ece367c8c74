// RouteTable: the first route that fits, as a scan in order would find it, whatever the index
// does (host buckets, exact paths, the prefix trie). Hand-written cases, then random tables
// checked against a plain linear scan.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "proxy/l7/h1/head_parser.hpp"
#include "proxy/l7/h1/route.hpp"
#include "proxy/l7/rules/route_table.hpp"

namespace sluice::proxy::rules {
namespace {

config::Route route(std::string name, config::RouteMatch match) {
  config::Route r;
  r.name = std::move(name);
  r.match = std::move(match);
  return r;
}

class RouteTableTest : public ::testing::Test {
 protected:
  std::string pick(const std::vector<config::Route>& routes, const std::string& target,
                   const std::string& host = "a.example", const std::string& method = "GET") {
    auto p = http::HeadParser::request({});
    const std::string raw = method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    size_t used = 0;
    EXPECT_EQ(p.feed(raw, used), http::Status::done) << raw;
    const RouteTable table(routes);
    const int i = table.match(p.head());
    return i < 0 ? "-" : routes[static_cast<size_t>(i)].name;
  }
};

TEST_F(RouteTableTest, FirstMatchInFileOrderAcrossIndexes) {
  const std::vector<config::Route> routes = {
      route("regex", {.path_regex = "/u/[0-9]+"}),
      route("api-host", {.host = "api.example", .path_prefix = "/"}),
      route("exact", {.path_exact = "/health"}),
      route("long", {.path_prefix = "/static/img/"}),
      route("short", {.path_prefix = "/static/"}),
      route("debug", {.path_prefix = "/", .query = {{"debug", "1"}}}),
      route("wild", {.host = "*.example", .path_prefix = "/w"}),
      route("post", {.methods = {"POST"}}),
      route("all", {.path_prefix = "/"}),
  };
  EXPECT_EQ(pick(routes, "/u/42"), "regex");
  EXPECT_EQ(pick(routes, "/u/42", "API.example:80"), "regex");  // earlier than the host route
  EXPECT_EQ(pick(routes, "/health", "API.Example"), "api-host");
  EXPECT_EQ(pick(routes, "/health"), "exact");
  EXPECT_EQ(pick(routes, "/health?debug=1"), "exact");
  EXPECT_EQ(pick(routes, "/static/img/a.png"), "long");
  EXPECT_EQ(pick(routes, "/static/css/a.css"), "short");
  EXPECT_EQ(pick(routes, "/static"), "all");
  EXPECT_EQ(pick(routes, "/x?a=1&debug=1"), "debug");
  EXPECT_EQ(pick(routes, "/x?debug=2"), "all");
  EXPECT_EQ(pick(routes, "/w1", "b.example"), "wild");
  EXPECT_EQ(pick(routes, "/w1", "example"), "all");
  EXPECT_EQ(pick(routes, "*", "a.example", "OPTIONS"), "-");  // no route path fits "*"
  EXPECT_EQ(pick(routes, "/p", "a.example", "POST"), "post");
  const std::vector<config::Route> none = {route("only", {.path_exact = "/a"})};
  EXPECT_EQ(pick(none, "/b"), "-");
  EXPECT_EQ(pick({}, "/"), "-");
}

// The reference: every route tried in order.
int linear(const std::vector<config::Route>& routes, const std::vector<std::unique_ptr<Regex>>& re,
           const http::Head& head) {
  const std::string_view host = http::host_without_port(head.host);
  for (size_t i = 0; i < routes.size(); ++i) {
    const auto& m = routes[i].match;
    if (!http::route_matches(m, head, host)) continue;
    if (m.path_regex && !re[i]->matches(head.path)) continue;
    bool query = true;
    for (const auto& q : m.query) query = query && head.has_query && query_matches(head.query, q);
    if (query) return static_cast<int>(i);
  }
  return -1;
}

TEST_F(RouteTableTest, RandomTablesAgreeWithALinearScan) {
  std::mt19937 rng(7);
  const std::vector<std::string> hosts = {"a.example", "b.example", "c.example"};
  const std::vector<std::string> segments = {"a", "b", "ab", "x1", "api", "v2"};
  auto path = [&](int depth) {
    std::string p;
    for (int i = 0; i < depth; ++i) p += "/" + segments[rng() % segments.size()];
    return p.empty() ? std::string("/") : p;
  };
  for (int round = 0; round < 50; ++round) {
    std::vector<config::Route> routes;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      config::RouteMatch m;
      switch (rng() % 4) {
        case 0:
          m.host = hosts[rng() % hosts.size()];
          break;
        case 1:
          m.host = "*.example";
          break;
        default:
          break;
      }
      switch (rng() % 5) {
        case 0:
          m.path_exact = path(1 + static_cast<int>(rng() % 3));
          break;
        case 1:
        case 2:
          m.path_prefix = path(static_cast<int>(rng() % 3));
          break;
        case 3:
          m.path_regex = "/a(/.*)?";
          break;
        default:
          break;
      }
      if (rng() % 6 == 0)
        m.query.push_back({"k", rng() % 2 ? std::optional<std::string>("1") : std::nullopt});
      if (rng() % 8 == 0) m.methods = {"POST"};
      routes.push_back(route(std::to_string(i), m));
    }
    std::vector<std::unique_ptr<Regex>> re;
    for (const auto& r : routes) {
      std::string error;
      re.push_back(r.match.path_regex ? Regex::compile(*r.match.path_regex, true, error) : nullptr);
    }
    const RouteTable table(routes);
    for (int q = 0; q < 200; ++q) {
      std::string target = path(static_cast<int>(rng() % 4));
      if (rng() % 3 == 0) target += rng() % 2 ? "?k=1" : "?k";
      const std::string raw = std::string(rng() % 8 == 0 ? "POST" : "GET") + " " + target +
                              " HTTP/1.1\r\nHost: " + hosts[rng() % hosts.size()] +
                              "\r\nContent-Length: 0\r\n\r\n";
      auto p = http::HeadParser::request({});
      size_t used = 0;
      ASSERT_EQ(p.feed(raw, used), http::Status::done) << raw;
      ASSERT_EQ(table.match(p.head()), linear(routes, re, p.head())) << raw << " round " << round;
    }
  }
}

}  // namespace
}  // namespace sluice::proxy::rules
