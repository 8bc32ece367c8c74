// rate_limits[] shapes (issue #14): fixed_window and leaky_bucket with burst/queue, combined keys,
// `headers: always`, and several limits on one route or listener.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "config/parse.hpp"
#include "config/to_json.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
namespace json = boost::json;

const std::string kHttp = R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    rate_limit: [a, b]
    routes:
      - { match: { path_prefix: /x }, cluster: c, rate_limit: [b, c] }
      - { match: {}, cluster: c, rate_limit: a }
clusters:
  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }
)";

TEST(ParseRateLimitShapes, AlgorithmsKeysListsAndHeaders) {
  ParseResult r = parse_config_text(kHttp + R"(rate_limits:
  - { name: a, key: [client_ip, route, "header:X-Api-Key"], algorithm: fixed_window, rate: 5/s }
  - { name: b, algorithm: leaky_bucket, rate: 10/s, burst: 3, queue: 7, headers: always }
  - { name: c, algorithm: leaky_bucket, rate: 20/min }
)",
                                    "t.yaml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  const Config& c = r.config;
  const RateLimit& a = c.rate_limits[0];
  EXPECT_EQ(a.algorithm, RateLimit::Algorithm::fixed_window);
  EXPECT_EQ(a.key.source, RateLimitKey::Source::client_ip);
  ASSERT_EQ(a.more_keys.size(), 2u);
  EXPECT_EQ(a.more_keys[0].source, RateLimitKey::Source::route);
  EXPECT_EQ(a.more_keys[1].header, "X-Api-Key");
  EXPECT_FALSE(a.headers_always);
  const RateLimit& b = c.rate_limits[1];
  EXPECT_EQ(b.algorithm, RateLimit::Algorithm::leaky_bucket);
  EXPECT_EQ(b.burst, 3u);
  EXPECT_EQ(b.queue, 7u);
  EXPECT_TRUE(b.headers_always);
  EXPECT_EQ(c.rate_limits[2].queue, 20u);  // default: one period's worth
  EXPECT_EQ(c.listeners[0].rate_limit, "a");
  EXPECT_THAT(c.listeners[0].more_rate_limits, ElementsAre("b"));
  EXPECT_EQ(c.listeners[0].routes[0].rate_limit, "b");
  EXPECT_THAT(c.listeners[0].routes[0].more_rate_limits, ElementsAre("c"));
  EXPECT_TRUE(c.listeners[0].routes[1].more_rate_limits.empty());
  // /config writes them back as they were written.
  const json::value o = json::parse(to_json(c));
  EXPECT_EQ(json::serialize(o.at("listeners").at(0).at("rate_limit")), R"(["a","b"])");
  EXPECT_EQ(json::serialize(o.at("rate_limits").at(0).at("key")),
            R"(["client_ip","route","header:X-Api-Key"])");
  EXPECT_EQ(json::serialize(o.at("rate_limits").at(1)),
            R"({"name":"b","key":"client_ip","algorithm":"leaky_bucket","rate":"10/s",)"
            R"("burst":3,"queue":7,"headers":"always","scope":"local","max_keys":100000})");
}

TEST(ParseRateLimitShapes, Mistakes) {
  EXPECT_THAT(
      errors_of(kHttp + R"(rate_limits:
  - { name: a, key: [client_ip, global], rate: 5/s }
  - { name: b, key: [route, route], algorithm: fixed_window, rate: 1/s, burst: 2, queue: 3 }
  - { name: c, key: [], algorithm: leaky_bucket, rate: 1/s, headers: sometimes }
)"),
      ElementsAre(
          "t.yaml:12:33: rate_limits[0].key[1]: global is one key for everything: it combines "
          "with nothing",
          "t.yaml:13:29: rate_limits[1].key[1]: this part of the key is there already",
          "t.yaml:13:73: rate_limits[1].burst: applies to algorithms token_bucket and "
          "leaky_bucket only",
          "t.yaml:13:83: rate_limits[1].queue: applies to algorithm leaky_bucket only",
          "t.yaml:14:21: rate_limits[2].key: a combined key needs at least one part",
          "t.yaml:14:70: rate_limits[2].headers: expected one of on_limit, always, got "
          "'sometimes'"));
}

TEST(ParseRateLimitShapes, ListsOfLimits) {
  EXPECT_THAT(errors_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    routes:
      - { match: {}, cluster: c, rate_limit: [a, a, nope] }
  - name: db
    listen: 127.0.0.1:8081
    protocol: tcp
    cluster: c
    rate_limit: [a]
  - name: db2
    listen: 127.0.0.1:8082
    protocol: tcp
    cluster: c
    rate_limit: shaped
clusters:
  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }
rate_limits:
  - { name: a, rate: 5/s }
  - { name: shaped, algorithm: leaky_bucket, rate: 5/s }
)"),
              ElementsAre("t.yaml:6:50: listeners[0].routes[0].rate_limit[1]: rate limit 'a' is "
                          "in this list already",
                          "t.yaml:6:53: listeners[0].routes[0].rate_limit[2]: unknown rate limit "
                          "'nope'",
                          "t.yaml:11:17: listeners[1].rate_limit: a tcp listener takes one rate "
                          "limit, not a list",
                          "t.yaml:16:17: listeners[2].rate_limit: rate limit 'shaped' is a "
                          "leaky_bucket, which queues requests; a tcp listener admits or refuses "
                          "connections"));
}

}  // namespace
}  // namespace sluice::config
