// headers_with_underscores on http listeners: the three actions, drop by default, errors
// with file:line:col like every other key, and routes that could never match.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/parse.hpp"
#include "config/to_json.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using ::testing::HasSubstr;

std::string http_listener(const std::string& option, const std::string& match = "{}") {
  return R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
)" + option +
         R"(    routes:
      - { match: )" +
         match + R"(, cluster: c }
clusters:
  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }
)";
}

TEST(ParseUnderscores, DropByDefaultAndEachActionByName) {
  ParseResult dflt = parse_config_text(http_listener(""), "t.yaml");
  ASSERT_TRUE(dflt.ok());
  EXPECT_EQ(dflt.config.listeners[0].headers_with_underscores, HeadersWithUnderscores::drop);
  const std::pair<const char*, HeadersWithUnderscores> actions[] = {
      {"allow", HeadersWithUnderscores::allow},
      {"reject", HeadersWithUnderscores::reject},
      {"drop", HeadersWithUnderscores::drop}};
  for (const auto& [text, action] : actions) {
    ParseResult r = parse_config_text(
        http_listener("    headers_with_underscores: " + std::string(text) + "\n"), "t.yaml");
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_EQ(r.config.listeners[0].headers_with_underscores, action) << text;
    EXPECT_THAT(to_json(r.config),
                HasSubstr(std::string("\"headers_with_underscores\":\"") + text + "\""));
  }
}

TEST(ParseUnderscores, BadValueAndTcpListenersAreErrors) {
  EXPECT_THAT(errors_of(http_listener("    headers_with_underscores: strip\n")),
              ElementsAre("t.yaml:5:31: listeners[0].headers_with_underscores: expected one of "
                          "allow, reject, drop, got 'strip'"));
  EXPECT_THAT(errors_of(R"(listeners:
  - name: db
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: c
    headers_with_underscores: allow
clusters:
  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }
)"),
              ElementsAre("t.yaml:6:5: listeners[0].headers_with_underscores: applies to http "
                          "listeners only"));
}

TEST(ParseUnderscores, RouteOnAHeaderTheListenerNeverLetsThrough) {
  const std::string match = "{ headers: [{ name: X-Env }, { name: X_Tenant, exact: blue }] }";
  EXPECT_THAT(errors_of(http_listener("", match)),
              ElementsAre("t.yaml:6:55: listeners[0].routes[0].match.headers[1].name: this "
                          "listener drops headers whose name has '_' (headers_with_underscores), "
                          "so this route can never match; use headers_with_underscores: allow"));
  EXPECT_THAT(errors_of(http_listener("    headers_with_underscores: reject\n", match)),
              ElementsAre(HasSubstr("this listener refuses headers whose name has '_'")));
  EXPECT_TRUE(
      parse_config_text(http_listener("    headers_with_underscores: allow\n", match), "t.yaml")
          .ok());
}

}  // namespace
}  // namespace sluice::config
