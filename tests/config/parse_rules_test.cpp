// Request and response rules: access, trusted_proxies, headers, redirect, rewrite, path_regex
// and query matches; every bad value reported at its file:line:col.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/cidr.hpp"
#include "config/parse.hpp"
#include "config/value_template.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;

// An http listener whose one route is `route` (a flow map), with `listener` lines added.
std::string http(const std::string& route, const std::string& listener = "") {
  return "listeners:\n  - name: web\n    listen: 127.0.0.1:8080\n    protocol: http\n" + listener +
         "    routes:\n      - " + route +
         "\nclusters:\n  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }\n";
}

TEST(ParseRules, EverythingReadsIntoTheConfig) {
  ParseResult r = parse_config_text(
      http("{ match: { path_regex: '^/u/([0-9]+)$', query: [{ name: v, exact: '2' }, { name: "
           "debug }] }, cluster: c, rewrite: { regex: { pattern: '^/u/(.*)$', substitution: "
           "'/users/$1' }, host: users.internal:8080 }, headers: { response: { remove: [Server] "
           "} }, access: { deny: [10.0.0.5] } }",
           "    access: { allow: [10.0.0.0/8, '::1'], deny: ['2001:db8::/32'] }\n"
           "    trusted_proxies: [192.168.0.0/16]\n"
           "    headers:\n"
           "      request:\n"
           "        remove: [X-Secret]\n"
           "        set: { X-Client: '%{client_ip}' }\n"
           "        add: { X-Tls: 'sni=%{tls_sni}' }\n"),
      "t.yaml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  const Listener& l = r.config.listeners[0];
  ASSERT_EQ(l.rules.access.allow.size(), 2u);
  EXPECT_EQ(l.rules.access.allow[1].family, AF_INET6);
  EXPECT_EQ(l.rules.access.deny[0].prefix, 32);
  EXPECT_EQ(l.rules.trusted_proxies[0].text, "192.168.0.0/16");
  ASSERT_EQ(l.rules.headers.request.size(), 3u);
  EXPECT_EQ(l.rules.headers.request[0].kind, HeaderRule::Kind::remove);
  EXPECT_EQ(l.rules.headers.request[1].kind, HeaderRule::Kind::set);
  EXPECT_EQ(l.rules.headers.request[1].value.parts[0].variable, TemplateVariable::client_ip);
  EXPECT_EQ(l.rules.headers.request[2].value.parts[0].literal, "sni=");
  const Route& route = l.routes[0];
  EXPECT_EQ(route.match.path_regex, "^/u/([0-9]+)$");
  ASSERT_EQ(route.match.query.size(), 2u);
  EXPECT_EQ(route.match.query[0].exact, "2");
  EXPECT_FALSE(route.match.query[1].exact);
  ASSERT_TRUE(route.rewrite);
  EXPECT_EQ(route.rewrite->host, "users.internal:8080");
  EXPECT_EQ(route.rewrite->path.regex->substitution, "/users/$1");
  EXPECT_EQ(route.headers.response[0].name, "Server");
  EXPECT_EQ(route.access.deny[0].text, "10.0.0.5");

  ParseResult redirect = parse_config_text(
      http("{ match: { path_prefix: /old/ }, redirect: { status: 308, scheme: https, host: "
           "www.example.com, port: 8443, prefix: /new/, strip_query: true } }"),
      "t.yaml");
  ASSERT_TRUE(redirect.ok());
  const Redirect& rd = *redirect.config.listeners[0].routes[0].redirect;
  EXPECT_EQ(rd.status, 308);
  EXPECT_EQ(rd.scheme, "https");
  EXPECT_EQ(rd.port, 8443);
  EXPECT_EQ(rd.path.prefix, "/new/");
  EXPECT_TRUE(rd.strip_query);
}

TEST(ParseRules, BadValuesAreReportedWhereTheyAre) {
  EXPECT_THAT(errors_of(http("{ match: { path_regex: '/a(b' }, cluster: c }")),
              ElementsAre("t.yaml:6:37: listeners[0].routes[0].match.path_regex: bad regex: "
                          "missing closing parenthesis (at character 5)"));
  EXPECT_THAT(errors_of(http("{ match: {}, cluster: c }", "    access: { allow: [10.0.0.1/8] }\n")),
              ElementsAre("t.yaml:5:23: listeners[0].access.allow[0]: '10.0.0.1/8' has bits set "
                          "past its prefix length; the range starts at a network address"));
  EXPECT_THAT(errors_of(http("{ match: {}, cluster: c }", "    trusted_proxies: [10.0.0.0/33]\n")),
              ElementsAre("t.yaml:5:23: listeners[0].trusted_proxies[0]: a prefix length is "
                          "0..32, got '10.0.0.0/33'"));
  EXPECT_THAT(errors_of(http("{ match: {}, access: { deny: [example.com] }, cluster: c }")),
              ElementsAre("t.yaml:6:39: listeners[0].routes[0].access.deny[0]: expected an "
                          "address or CIDR range like 10.0.0.0/8 or 2001:db8::/32, got "
                          "'example.com'"));
  EXPECT_THAT(errors_of(http("{ match: {}, redirect: { status: 304 } }")),
              ElementsAre("t.yaml:6:42: listeners[0].routes[0].redirect.status: a redirect "
                          "status is 301, 302, 303, 307 or 308, got 304"));
  EXPECT_THAT(
      errors_of(
          http("{ match: {}, cluster: c, headers: { request: { set: { X-A: '%{nope}' } } } }")),
      ElementsAre("t.yaml:6:68: listeners[0].routes[0].headers.request.set.X-A: unknown variable "
                  "'nope' (at character 1); known: client_ip, request_id, host, tls_sni, "
                  "tls_version, tls_cipher, tls_alpn, tls_client_subject"));
  EXPECT_THAT(
      errors_of(http("{ match: {}, cluster: c, headers: { request: { remove: [Host] } } }")),
      ElementsAre("t.yaml:6:65: listeners[0].routes[0].headers.request.remove[0]: Host is "
                  "sluice's to write (use rewrite.host for Host); a header rule cannot change it"));
  EXPECT_THAT(errors_of(http("{ match: { path_exact: /a }, cluster: c, rewrite: { prefix: /b } }")),
              ElementsAre("t.yaml:6:9: listeners[0].routes[0]: a prefix rewrite replaces "
                          "match.path_prefix, which this route does not have"));
  EXPECT_THAT(errors_of(http("{ match: {}, cluster: c, redirect: {} }")),
              ElementsAre("t.yaml:6:34: listeners[0].routes[0].redirect: a route has one of "
                          "cluster, direct_response and redirect"));
  EXPECT_THAT(errors_of(http("{ match: { path_prefix: /a, path_regex: /b }, cluster: c }")),
              ElementsAre("t.yaml:6:37: listeners[0].routes[0].match.path_regex: use one of "
                          "path_exact, path_prefix and path_regex"));
  EXPECT_THAT(errors_of(testing::kMinimal.substr(0, testing::kMinimal.find("clusters:")) +
                        "    access: { allow: [10.0.0.0/8] }\n" +
                        testing::kMinimal.substr(testing::kMinimal.find("clusters:"))),
              ElementsAre("t.yaml:6:5: listeners[0].access: applies to http listeners only"));
}

TEST(ParseRules, CidrsAndTemplates) {
  EXPECT_EQ(parse_cidr("::ffff:10.0.0.0/104").value->family, AF_INET);
  EXPECT_EQ(parse_cidr("::ffff:10.0.0.0/104").value->prefix, 8);
  EXPECT_EQ(parse_cidr("0.0.0.0/0").value->prefix, 0);
  EXPECT_FALSE(parse_cidr("10.0.0.0/"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/8x"));
  EXPECT_FALSE(parse_cidr("/8"));
  EXPECT_FALSE(parse_cidr("::/129"));
  auto t = parse_value_template("a%%b%{host}c");
  ASSERT_TRUE(t);
  ASSERT_EQ(t.value->parts.size(), 3u);
  EXPECT_EQ(t.value->parts[0].literal, "a%b");
  EXPECT_EQ(t.value->parts[1].variable, TemplateVariable::host);
  EXPECT_EQ(t.value->parts[2].literal, "c");
  EXPECT_EQ(parse_value_template("50%").error,
            "a '%' starts %{variable} or is written %% (at character 3)");
  EXPECT_EQ(parse_value_template("%{host").error, "'%{' without its '}' (at character 1)");
  EXPECT_EQ(parse_value_template("a\nb").error,
            "a header value cannot hold control characters (at character 2)");
  EXPECT_TRUE(parse_value_template("").value->parts.empty());
}

}  // namespace
}  // namespace sluice::config
