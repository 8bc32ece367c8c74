// proxy/l7/rules: client addresses and CIDRs, X-Forwarded-For behind trusted proxies, header
// plans, path rewrites, redirect Locations, query matches. Exact expectations, no network.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/cidr.hpp"
#include "config/value_template.hpp"
#include "proxy/l7/h1/head_parser.hpp"
#include "proxy/l7/rules/client_address.hpp"
#include "proxy/l7/rules/header_plan.hpp"
#include "proxy/l7/rules/path_rewriter.hpp"
#include "proxy/l7/rules/redirect.hpp"
#include "proxy/l7/rules/regex.hpp"
#include "proxy/l7/rules/route_table.hpp"

namespace sluice::proxy::rules {
namespace {

config::Cidr cidr(std::string_view text) {
  auto parsed = config::parse_cidr(text);
  EXPECT_TRUE(parsed) << text << ": " << parsed.error;
  return parsed ? *parsed.value : config::Cidr{};
}

std::vector<config::Cidr> cidrs(std::initializer_list<std::string_view> texts) {
  std::vector<config::Cidr> out;
  for (auto t : texts) out.push_back(cidr(t));
  return out;
}

// A parsed request head; the parser must outlive the Head it returns.
struct Request {
  explicit Request(const std::string& raw) : parser(http::HeadParser::request({})) {
    size_t used = 0;
    EXPECT_EQ(parser.feed(raw, used), http::Status::done) << raw;
  }
  const http::Head& head() const { return parser.head(); }
  http::HeadParser parser;
};

std::string get(std::string_view target, std::string_view extra = "",
                std::string_view host = "a.example") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n" +
         std::string(extra) + "\r\n";
}

TEST(RulesCidr, MatchesIpv4AndIpv6Ranges) {
  EXPECT_TRUE(in_cidr(parse_ip("10.1.2.3"), cidr("10.0.0.0/8")));
  EXPECT_FALSE(in_cidr(parse_ip("11.0.0.1"), cidr("10.0.0.0/8")));
  EXPECT_TRUE(in_cidr(parse_ip("192.168.1.130"), cidr("192.168.1.128/25")));
  EXPECT_FALSE(in_cidr(parse_ip("192.168.1.127"), cidr("192.168.1.128/25")));
  EXPECT_TRUE(in_cidr(parse_ip("203.0.113.9"), cidr("203.0.113.9")));
  EXPECT_FALSE(in_cidr(parse_ip("203.0.113.10"), cidr("203.0.113.9")));
  EXPECT_TRUE(in_cidr(parse_ip("1.2.3.4"), cidr("0.0.0.0/0")));
  EXPECT_FALSE(in_cidr(parse_ip("::1"), cidr("0.0.0.0/0")));
  EXPECT_TRUE(in_cidr(parse_ip("::1"), cidr("::1")));
  EXPECT_TRUE(in_cidr(parse_ip("[::1]"), cidr("::1/128")));
  EXPECT_TRUE(in_cidr(parse_ip("2001:db8:ffff::1"), cidr("2001:db8::/32")));
  EXPECT_FALSE(in_cidr(parse_ip("2001:db9::1"), cidr("2001:db8::/32")));
  EXPECT_TRUE(in_cidr(parse_ip("2001:db8::1"), cidr("2001:db8::/33")));
  EXPECT_FALSE(in_cidr(parse_ip("2001:db8:8000::1"), cidr("2001:db8::/33")));
  // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: IPv4 ranges still apply.
  EXPECT_TRUE(in_cidr(parse_ip("::ffff:10.0.0.1"), cidr("10.0.0.0/8")));
  EXPECT_TRUE(in_cidr(parse_ip("10.0.0.1"), cidr("::ffff:10.0.0.0/104")));
  EXPECT_EQ(parse_ip("not-an-ip").family, 0);
  EXPECT_EQ(parse_ip("").family, 0);
}

TEST(RulesAccess, DenyFirstThenAllowListFailClosed) {
  config::AccessControl access;
  EXPECT_TRUE(allowed(access, parse_ip("1.2.3.4")));
  EXPECT_TRUE(allowed(access, IpAddress{}));  // no rules: nothing to check
  access.allow = cidrs({"10.0.0.0/8", "::1"});
  access.deny = cidrs({"10.0.0.5"});
  EXPECT_TRUE(allowed(access, parse_ip("10.9.9.9")));
  EXPECT_FALSE(allowed(access, parse_ip("10.0.0.5")));
  EXPECT_FALSE(allowed(access, parse_ip("192.0.2.1")));
  EXPECT_TRUE(allowed(access, parse_ip("::1")));
  EXPECT_FALSE(allowed(access, parse_ip("::2")));
  EXPECT_FALSE(allowed(access, IpAddress{}));
  config::AccessControl deny_only;
  deny_only.deny = cidrs({"::1"});
  EXPECT_FALSE(allowed(deny_only, parse_ip("::1")));
  EXPECT_TRUE(allowed(deny_only, parse_ip("127.0.0.1")));
}

struct XffCase {
  std::string peer;
  std::string headers;  // "X-Forwarded-For: ...\r\n" lines
  std::string client;
};

TEST(RulesForwardedFor, WalksRightToLeftSkippingTrustedHops) {
  const auto trusted = cidrs({"10.0.0.0/8", "fd00::/8"});
  const std::vector<XffCase> cases = {
      // An untrusted peer's X-Forwarded-For is not believed.
      {"192.0.2.1", "X-Forwarded-For: 1.1.1.1\r\n", "192.0.2.1"},
      {"10.0.0.1", "", "10.0.0.1"},
      {"10.0.0.1", "X-Forwarded-For: 1.1.1.1\r\n", "1.1.1.1"},
      // A client cannot pose as another by adding its own entry on the left.
      {"10.0.0.1", "X-Forwarded-For: 6.6.6.6, 1.1.1.1, 10.2.2.2\r\n", "1.1.1.1"},
      {"10.0.0.1", "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 1.1.1.1,10.2.2.2\r\n", "1.1.1.1"},
      {"10.0.0.1", "X-Forwarded-For: 10.3.3.3, 10.2.2.2\r\n", "10.3.3.3"},  // all trusted
      {"10.0.0.1", "X-Forwarded-For: 1.1.1.1, garbage, 10.2.2.2\r\n", "10.2.2.2"},
      {"10.0.0.1", "X-Forwarded-For: 1.1.1.1:5555\r\n", "1.1.1.1"},
      {"10.0.0.1", "X-Forwarded-For: 2001:db8::7, fd00::1\r\n", "2001:db8::7"},
      {"fd00::9", "X-Forwarded-For: [2001:db8::8]:443\r\n", "[2001:db8::8]"},
      {"10.0.0.1", "X-Forwarded-For: \r\n", "10.0.0.1"},
  };
  for (const auto& c : cases) {
    Request r(get("/", c.headers));
    IpAddress ip;
    const std::string_view got = real_client(c.peer, parse_ip(c.peer), trusted, r.head(), &ip);
    EXPECT_EQ(got, c.client) << c.peer << " / " << c.headers;
    EXPECT_NE(ip.family, 0) << c.headers;
  }
}

config::HeaderRule rule(config::HeaderRule::Kind kind, std::string name, std::string value = {}) {
  auto parsed = config::parse_value_template(value);
  EXPECT_TRUE(parsed) << parsed.error;
  return config::HeaderRule{kind, std::move(name), *parsed.value};
}

TEST(RulesHeaderPlan, FoldsListenerThenRouteAndRendersVariables) {
  using K = config::HeaderRule::Kind;
  const std::vector<config::HeaderRule> listener = {
      rule(K::remove, "X-Secret"), rule(K::set, "X-Client", "%{client_ip}"),
      rule(K::add, "X-Via", "sluice"), rule(K::add, "X-Gone", "a")};
  const std::vector<config::HeaderRule> route = {
      rule(K::remove, "x-gone"), rule(K::set, "X-Req", "id=%{request_id};h=%{host}"),
      rule(K::add, "X-Tls", "[%{tls_sni}]100%%")};
  const HeaderPlan plan(listener, route);
  EXPECT_EQ(plan.drop(), (std::vector<std::string>{"x-secret", "x-client", "x-gone", "x-req"}));
  TemplateContext c;
  c.client_ip = "10.0.0.1";
  c.request_id = "abc";
  c.host = "h.example";
  std::string out;
  plan.render_lines(c, out);
  EXPECT_EQ(out,
            "X-Client: 10.0.0.1\r\nX-Via: sluice\r\nX-Req: id=abc;h=h.example\r\n"
            "X-Tls: []100%\r\n");
  // A variable cannot bring a line break in.
  c.tls_sni = "a\r\nX-Evil: 1";
  out.clear();
  plan.render_lines(c, out);
  EXPECT_NE(out.find("X-Tls: [aX-Evil: 1]100%\r\n"), std::string::npos) << out;
  EXPECT_TRUE(HeaderPlan().empty());
}

TEST(RulesPathRewriter, PrefixWholePathAndRegex) {
  config::RouteMatch match;
  match.path_prefix = "/api/";
  std::string error, out;
  config::PathRewrite prefix;
  prefix.prefix = "/v2/";
  PathRewriter p(prefix, match, error);
  ASSERT_TRUE(p.apply("/api/users/7", out));
  EXPECT_EQ(out, "/v2/users/7");
  prefix.prefix = "";
  PathRewriter strip(prefix, match, error);
  ASSERT_TRUE(strip.apply("/api/", out));
  EXPECT_EQ(out, "/");  // never an empty path
  config::PathRewrite whole;
  whole.path = "/maintenance";
  ASSERT_TRUE(PathRewriter(whole, {}, error).apply("/anything", out));
  EXPECT_EQ(out, "/maintenance");
  config::PathRewrite regex;
  regex.regex = config::RegexRewrite{"^/users/([0-9]+)/posts/([0-9]+)$", "/p/$2?u=$1"};
  PathRewriter r(regex, {}, error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_TRUE(r.apply("/users/12/posts/345", out));
  EXPECT_EQ(out, "/p/345?u=12");
  EXPECT_FALSE(r.apply("/users/x/posts/1", out));  // no match: the path stays
  config::PathRewrite global;
  global.regex = config::RegexRewrite{"//+", "/"};
  ASSERT_TRUE(PathRewriter(global, {}, error).apply("/a//b///c", out));
  EXPECT_EQ(out, "/a/b/c");
  EXPECT_FALSE(PathRewriter().apply("/x", out));
}

TEST(RulesRegex, WholeMatchAndCompileErrors) {
  std::string error;
  auto whole = Regex::compile("/u/[0-9]+", true, error);
  ASSERT_TRUE(whole);
  EXPECT_TRUE(whole->matches("/u/42"));
  EXPECT_FALSE(whole->matches("/u/42/x"));
  EXPECT_FALSE(whole->matches("/x/u/42"));
  EXPECT_FALSE(Regex::compile("(unclosed", true, error));
  EXPECT_FALSE(error.empty());
}

struct RedirectCase {
  config::Redirect redirect;
  std::string target;
  std::string host;
  bool tls;
  std::string location;
};

TEST(RulesRedirect, LocationTable) {
  config::Redirect https;
  https.scheme = "https";
  config::Redirect canonical;
  canonical.host = "www.example.com";
  config::Redirect moved;
  moved.path.path = "/new";
  moved.strip_query = true;
  config::Redirect port;
  port.scheme = "https";
  port.port = 8443;
  config::Redirect default_port;
  default_port.scheme = "https";
  default_port.port = 443;
  const std::vector<RedirectCase> cases = {
      {https, "/a?b=1", "example.com:8080", false, "https://example.com/a?b=1"},
      {https, "/", "[::1]:8080", false, "https://[::1]/"},
      {canonical, "/x?y", "example.com", false, "http://www.example.com/x?y"},
      {canonical, "/x", "example.com", true, "https://www.example.com/x"},
      {config::Redirect{}, "/same", "h:81", false, "http://h:81/same"},
      {moved, "/old?q=1", "h", false, "http://h/new"},
      {port, "/p", "h:80", false, "https://h:8443/p"},
      {default_port, "/p", "h:80", false, "https://h/p"},
  };
  for (const auto& c : cases) {
    Request r(get(c.target, "", c.host));
    std::string error;
    const PathRewriter path(c.redirect.path, {}, error);
    std::string scratch, out;
    redirect_location(c.redirect, path, r.head(), c.tls, scratch, out);
    EXPECT_EQ(out, c.location) << c.target << " on " << c.host;
  }
}

TEST(RulesQuery, NamesAndValuesAsReceived) {
  const config::QueryMatch debug{"debug", std::nullopt};
  const config::QueryMatch v2{"v", "2"};
  EXPECT_TRUE(query_matches("debug", debug));
  EXPECT_TRUE(query_matches("a=1&debug=", debug));
  EXPECT_FALSE(query_matches("debugx=1", debug));
  EXPECT_FALSE(query_matches("", debug));
  EXPECT_TRUE(query_matches("v=1&v=2", v2));
  EXPECT_FALSE(query_matches("v=20", v2));
  EXPECT_FALSE(query_matches("v=%32", v2));  // not decoded
}

}  // namespace
}  // namespace sluice::proxy::rules
