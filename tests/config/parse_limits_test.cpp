// Request limits on http listeners and routes (max_request_body).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/parse.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;

TEST(Parse, MaxRequestBodyIsHttpOnlyAndRoutesInheritIt) {
  ParseResult ok = parse_config_text(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    max_request_body: 1MiB
    routes:
      - { match: { path_prefix: /up }, cluster: c, max_request_body: 1GiB }
      - { match: {}, cluster: c }
clusters:
  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }
)",
                                     "t.yaml");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.config.listeners[0].routes[0].max_request_body, 1ull << 30);
  EXPECT_EQ(ok.config.listeners[0].routes[1].max_request_body, 1ull << 20);
  EXPECT_THAT(errors_of(R"(listeners:
  - name: db
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: c
    max_request_body: 10MB
clusters:
  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }
)"),
              ElementsAre("t.yaml:6:5: listeners[0].max_request_body: applies to http listeners "
                          "only",
                          "t.yaml:6:23: listeners[0].max_request_body: expected a size like "
                          "65536, 512KiB, 10MiB or 1GiB, got '10MB'"));
}

}  // namespace
}  // namespace sluice::config
