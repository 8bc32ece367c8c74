// clusters[].health_check and the cluster's panic_threshold, panic and slow_start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/parse.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::kMinimal;

// The keys are parsed and validated in full while the proxy does not use them yet; the
// "not supported yet" notes are left out so each test sees only what it is about.
std::vector<std::string> errors_but_support(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& e : testing::errors_of(text))
    if (e.find("is not supported yet") == std::string::npos) out.push_back(e);
  return out;
}

const Cluster& demo(const ParseResult& result) {
  return result.config.clusters.at(0);
}

TEST(ParseHealth, DefaultsAreThoseOperatorsExpect) {
  auto result = parse_config_text(kMinimal + "    health_check: { http: {} }\n", "t.yaml");
  ASSERT_TRUE(demo(result).health_check.has_value());
  const HealthCheck& h = *demo(result).health_check;
  EXPECT_EQ(h.kind, HealthCheck::Kind::http);
  EXPECT_EQ(h.http_path, "/healthz");
  EXPECT_EQ(h.http_host, "");
  EXPECT_THAT(h.http_expect, ElementsAre(StatusRange{200, 399}));  // HAProxy's 2xx and 3xx
  EXPECT_EQ(h.interval, Duration(2000));
  EXPECT_EQ(h.timeout, Duration(1000));
  EXPECT_EQ(h.healthy, 2);
  EXPECT_EQ(h.unhealthy, 3);
  EXPECT_EQ(h.jitter_percent, 10);
  EXPECT_EQ(demo(result).panic.threshold_percent, 50);
  EXPECT_EQ(demo(result).panic.mode, Panic::Mode::route_all);
  EXPECT_EQ(demo(result).slow_start, Duration(0));
  // A map without `http` is a TCP connect check.
  auto tcp = parse_config_text(kMinimal + "    health_check: {}\n", "t.yaml");
  EXPECT_EQ(demo(tcp).health_check->kind, HealthCheck::Kind::tcp);
}

TEST(ParseHealth, EveryKeyIsRead) {
  const std::string text = kMinimal + R"(    health_check:
      http: { path: "/ready?deep=1", host: api.internal, expect: [204, "300-302"] }
      interval: 500ms
      timeout: 200ms
      healthy: 1
      unhealthy: 5
      jitter: 20%
    panic_threshold: 0
    panic: fail_closed
    slow_start: 30s
)";
  auto result = parse_config_text(text, "t.yaml");
  EXPECT_THAT(errors_but_support(text), ElementsAre());
  const HealthCheck& h = *demo(result).health_check;
  EXPECT_EQ(h.http_path, "/ready?deep=1");
  EXPECT_EQ(h.http_host, "api.internal");
  EXPECT_THAT(h.http_expect, ElementsAre(StatusRange{204, 204}, StatusRange{300, 302}));
  EXPECT_EQ(h.interval, Duration(500));
  EXPECT_EQ(h.timeout, Duration(200));
  EXPECT_EQ(h.healthy, 1);
  EXPECT_EQ(h.unhealthy, 5);
  EXPECT_EQ(h.jitter_percent, 20);
  EXPECT_EQ(demo(result).panic.threshold_percent, 0);
  EXPECT_EQ(demo(result).panic.mode, Panic::Mode::fail_closed);
  EXPECT_EQ(demo(result).slow_start, Duration(30'000));
  // A plain number is a percentage too; a single range needs no list.
  auto other = parse_config_text(kMinimal +
                                     "    health_check: { http: { expect: 200-299 }, jitter: 0 }\n"
                                     "    panic_threshold: 75%\n    slow_start: 0s\n",
                                 "t.yaml");
  EXPECT_THAT(demo(other).health_check->http_expect, ElementsAre(StatusRange{200, 299}));
  EXPECT_EQ(demo(other).health_check->jitter_percent, 0);
  EXPECT_EQ(demo(other).panic.threshold_percent, 75);
  EXPECT_EQ(demo(other).slow_start, Duration(0));
}

TEST(ParseHealth, MistakesPointAtTheirValue) {
  EXPECT_THAT(
      errors_but_support(kMinimal + R"(    health_check:
      http: { path: ready, host: "a b", expect: [200, 399-200, 600, teapot] }
      interval: 5ms
      jitter: 60%
    panic_threshold: 101
    panic: route_some
    slow_start: soon
)"),
      ElementsAre(
          "t.yaml:10:21: clusters[0].health_check.http.path: a path starts with '/', got 'ready'",
          "t.yaml:10:34: clusters[0].health_check.http.host: expected a host name like "
          "api.internal or api.internal:8080, got 'a b'",
          "t.yaml:10:55: clusters[0].health_check.http.expect[1]: expected an HTTP status "
          "(100-599) or a range like 200-399, got '399-200'",
          "t.yaml:10:64: clusters[0].health_check.http.expect[2]: expected an HTTP status "
          "(100-599) or a range like 200-399, got '600'",
          "t.yaml:10:69: clusters[0].health_check.http.expect[3]: expected an HTTP status "
          "(100-599) or a range like 200-399, got 'teapot'",
          "t.yaml:11:17: clusters[0].health_check.interval: must be at least 10ms",
          "t.yaml:12:15: clusters[0].health_check.jitter: expected a percentage between 0% and "
          "50%, got 60%",
          "t.yaml:13:22: clusters[0].panic_threshold: must be between 0 and 100, got 101",
          "t.yaml:14:12: clusters[0].panic: expected one of route_all, fail_closed, got "
          "'route_some'",
          "t.yaml:15:17: clusters[0].slow_start: expected a duration like 250ms, 2s, 1m or 1h, "
          "got 'soon'"));
  // The timeout check that was there before stays.
  EXPECT_THAT(errors_but_support(kMinimal + "    health_check: { interval: 1s, timeout: 2s }\n"),
              ElementsAre("t.yaml:9:44: clusters[0].health_check.timeout: must not be longer "
                          "than interval"));
}

TEST(ParseHealth, PanicAndSlowStartAreSupported) {
  EXPECT_THAT(testing::errors_of(kMinimal + "    panic: fail_closed\n    slow_start: 10s\n"),
              ::testing::IsEmpty());
}

}  // namespace
}  // namespace sluice::config
