// sticky_cookie, retry_budget, retries.backoff, deadline and fallback: values, defaults,
// inheritance and the mistakes each one refuses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "config/parse.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;

std::string http_config(const std::string& listener_extra, const std::string& route_extra,
                        const std::string& cluster_extra) {
  return "listeners:\n"
         "  - name: web\n"
         "    listen: 127.0.0.1:8080\n"
         "    protocol: http\n" +
         listener_extra +
         "    routes:\n"
         "      - match: {}\n"
         "        cluster: c\n" +
         route_extra +
         "clusters:\n"
         "  - name: c\n"
         "    endpoints: [{ address: 127.0.0.1:9001 }]\n" +
         cluster_extra +
         "  - name: spare\n"
         "    endpoints: [{ address: 127.0.0.1:9002 }]\n";
}

TEST(ParsePolicies, ValuesAndDefaults) {
  ParseResult r = parse_config_text(
      http_config("    deadline: { header: X-Deadline }\n"
                  "    retries: { backoff: { base: 20ms } }\n",
                  "        fallback: { on: [no-endpoint, cluster-limit], cluster: spare }\n",
                  "    sticky_cookie: { name: SRV, max_age: 1h, samesite: strict }\n"
                  "    retry_budget: { ratio: 0.25 }\n"),
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  const Route& route = r.config.listeners[0].routes[0];
  EXPECT_EQ(route.deadline.header, "X-Deadline");  // inherited
  EXPECT_TRUE(route.deadline.propagate);
  EXPECT_FALSE(route.deadline.trust_incoming);
  EXPECT_EQ(route.retries.backoff.base.count(), 20);
  EXPECT_EQ(route.retries.backoff.max.count(), 200);  // 10 x base
  ASSERT_TRUE(route.fallback);
  EXPECT_EQ(route.fallback->cluster, "spare");
  EXPECT_FALSE(route.fallback->covers(FallbackReason::circuit_open));
  EXPECT_TRUE(route.fallback->covers(FallbackReason::no_endpoint));
  EXPECT_FALSE(route.fallback->covers(FallbackReason::retries_exhausted));
  EXPECT_TRUE(route.fallback->covers(FallbackReason::cluster_limit));
  const Cluster& c = r.config.clusters[0];
  ASSERT_TRUE(c.sticky_cookie);
  EXPECT_EQ(c.sticky_cookie->name, "SRV");
  EXPECT_EQ(c.sticky_cookie->path, "/");
  EXPECT_TRUE(c.sticky_cookie->http_only);
  EXPECT_EQ(c.sticky_cookie->max_age->count(), 3'600'000);
  EXPECT_EQ(c.sticky_cookie->same_site, StickyCookie::SameSite::strict);
  ASSERT_TRUE(c.retry_budget);
  EXPECT_DOUBLE_EQ(c.retry_budget->ratio, 0.25);
  EXPECT_EQ(c.retry_budget->min_concurrency, 3u);
  EXPECT_FALSE(r.config.clusters[1].sticky_cookie);
}

TEST(ParsePolicies, AStaticFallbackTakesItsBodyFromAFileAtLoad) {
  const std::string path = ::testing::TempDir() + "sluice_fallback_body.html";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("<p>sorry</p>", f);
  std::fclose(f);
  ParseResult r = parse_config_text(
      http_config("",
                  "        fallback:\n          response: { status: 502, body_file: " + path +
                      ", headers: { Content-Type: text/html } }\n",
                  ""),
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  const StaticResponse& s = *r.config.listeners[0].routes[0].fallback->response;
  EXPECT_EQ(s.status, 502);
  EXPECT_EQ(s.body, "<p>sorry</p>");
  EXPECT_EQ(s.headers,
            (std::vector<std::pair<std::string, std::string>>{{"Content-Type", "text/html"}}));
  EXPECT_EQ(r.config.listeners[0].routes[0].fallback->on, 0b1111);  // every reason
}

TEST(ParsePolicies, MistakesAreRefused) {
  EXPECT_THAT(errors_of(http_config("", "        fallback: { cluster: c }\n", "")),
              ElementsAre("t.yaml:8:30: listeners[0].routes[0].fallback.cluster: the fallback "
                          "cluster is the route's own cluster"));
  EXPECT_THAT(errors_of(http_config("", "        fallback: { on: [oops], cluster: spare }\n", "")),
              ElementsAre(::testing::HasSubstr("expected one of circuit-open, no-endpoint")));
  EXPECT_THAT(
      errors_of(http_config(
          "", "        fallback: { response: { headers: { Content-Length: \"3\" } } }\n", "")),
      ElementsAre(::testing::HasSubstr("sluice sets this header itself")));
  EXPECT_THAT(errors_of(http_config("", "        fallback: { on: [no-endpoint] }\n", "")),
              ElementsAre(::testing::HasSubstr("a fallback needs response or cluster")));
  EXPECT_THAT(errors_of(http_config("", "", "    sticky_cookie: { samesite: none }\n")),
              ElementsAre(::testing::HasSubstr("samesite: none needs secure: true")));
  EXPECT_THAT(errors_of(http_config("", "", "    sticky_cookie: { name: \"a b\" }\n")),
              ElementsAre(::testing::HasSubstr("is not a valid cookie name")));
  EXPECT_THAT(errors_of(http_config("", "", "    retry_budget: { ratio: 1.5 }\n")),
              ElementsAre(::testing::HasSubstr("must be greater than 0 and at most 1")));
  EXPECT_THAT(errors_of(http_config("    retries: { backoff: { base: 1s, max: 10ms } }\n", "", "")),
              ElementsAre(::testing::HasSubstr("must not be shorter than base")));
  EXPECT_THAT(errors_of(http_config("    deadline: { propagate: false }\n", "", "")),
              ElementsAre(::testing::HasSubstr("missing required key 'header'")));
  EXPECT_THAT(errors_of("listeners:\n"
                        "  - name: db\n"
                        "    listen: 127.0.0.1:8080\n"
                        "    protocol: tcp\n"
                        "    cluster: c\n"
                        "    deadline: { header: X-D }\n"
                        "    retries: { backoff: { base: 10ms } }\n"
                        "clusters:\n"
                        "  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }\n"),
              ElementsAre(::testing::HasSubstr("deadline: applies to http listeners only"),
                          ::testing::HasSubstr("backoff: applies to http listeners only")));
}

}  // namespace
}  // namespace sluice::config
