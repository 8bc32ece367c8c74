// The connection-level keys of issue #13: max_connections (global and per listener), the
// listener's header and linger timeouts, a cluster's pool, and the workers' receive buffers.
// Defaults first (what sluice did when they were hard-coded), then values and errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/parse.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;

// An http listener `web` with `listener_keys` and a cluster `c` with `cluster_keys`, after
// `top` at the top level.
std::string config_with(const std::string& top, const std::string& listener_keys,
                        const std::string& cluster_keys = "") {
  return top + R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
)" + listener_keys +
         R"(    routes:
      - { match: {}, cluster: c }
clusters:
  - name: c
    endpoints: [{ address: 127.0.0.1:9001 }]
)" + cluster_keys;
}

TEST(ParseConnections, DefaultsAreTheFormerlyHardCodedValues) {
  ParseResult r = parse_config_text(config_with("", ""), "t.yaml");
  ASSERT_TRUE(r.ok());
  const Config& c = r.config;
  EXPECT_EQ(c.max_connections, 0u);
  EXPECT_EQ(c.buffers.size, 16u * 1024);
  EXPECT_EQ(c.buffers.count, 1024u);
  EXPECT_EQ(c.listeners[0].max_connections, 0u);
  EXPECT_EQ(c.listeners[0].timeouts.header, Duration(10000));
  EXPECT_EQ(c.listeners[0].timeouts.linger, Duration(2000));
  EXPECT_EQ(c.clusters[0].pool.max_idle, 64u);
  EXPECT_EQ(c.clusters[0].pool.idle_timeout, Duration(30000));
}

TEST(ParseConnections, EveryKeyIsRead) {
  ParseResult r = parse_config_text(
      config_with("max_connections: 20000\nbuffers: { size: 64KiB, count: 256 }\n",
                  "    max_connections: 500\n    timeouts: { header: 2s, linger: 500ms }\n",
                  "    pool: { max_idle: 0, idle_timeout: 4s }\n"),
      "t.yaml");
  ASSERT_TRUE(r.ok());
  const Config& c = r.config;
  EXPECT_EQ(c.max_connections, 20000u);
  EXPECT_EQ(c.buffers.size, 64u * 1024);
  EXPECT_EQ(c.buffers.count, 256u);
  EXPECT_EQ(c.listeners[0].max_connections, 500u);
  EXPECT_EQ(c.listeners[0].timeouts.header, Duration(2000));
  EXPECT_EQ(c.listeners[0].timeouts.linger, Duration(500));
  EXPECT_EQ(c.clusters[0].pool.max_idle, 0u);
  EXPECT_EQ(c.clusters[0].pool.idle_timeout, Duration(4000));
}

TEST(ParseConnections, BadValuesSayWhy) {
  EXPECT_THAT(errors_of(config_with("buffers: { size: 100, count: 1000 }\n", "")),
              ElementsAre("t.yaml:1:18: buffers.size: expected a size between 1KiB and 1MiB, "
                          "got 100",
                          "t.yaml:1:30: buffers.count: expected a power of two (16, 32, ... "
                          "32768), got 1000"));
  EXPECT_THAT(errors_of(config_with("max_connections: -1\n", "    max_connections: many\n")),
              ElementsAre("t.yaml:1:18: max_connections: must be between 0 and 10000000, got -1",
                          "t.yaml:6:22: listeners[0].max_connections: expected an integer, got "
                          "'many'"));
}

TEST(ParseConnections, HeaderAndLingerBelongToHttpListeners) {
  // Not to a route: the head is read before any route is chosen.
  EXPECT_THAT(errors_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    routes:
      - { match: {}, cluster: c, timeouts: { header: 1s, linger: 1s } }
clusters:
  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }
)"),
              ElementsAre("t.yaml:6:46: listeners[0].routes[0].timeouts.header: applies to the "
                          "listener only (it is not per request)",
                          "t.yaml:6:58: listeners[0].routes[0].timeouts.linger: applies to the "
                          "listener only (it is not per request)"));
  // Nor to a tcp listener, which reads no heads.
  EXPECT_THAT(errors_of(R"(listeners:
  - name: db
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: c
    max_connections: 10
    timeouts: { header: 1s }
clusters:
  - { name: c, endpoints: [{ address: 127.0.0.1:9001 }] }
)"),
              ElementsAre("t.yaml:7:17: listeners[0].timeouts.header: applies to http listeners "
                          "only"));
}

}  // namespace
}  // namespace sluice::config
