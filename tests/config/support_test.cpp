// The not-supported-yet table and the paths it is keyed by.
#include "config/support.hpp"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(Support, SchemaPathDropsIndices) {
  EXPECT_EQ(schema_path_of("listeners[12].routes[0].cluster"), "listeners.routes.cluster");
  EXPECT_EQ(schema_path_of("workers"), "workers");
}

TEST(Support, WhatIsImplementedNow) {
  EXPECT_TRUE(is_supported("workers"));
  EXPECT_TRUE(is_supported("log.level"));
  EXPECT_TRUE(is_supported("listeners.protocol", "tcp"));
  EXPECT_TRUE(is_supported("listeners.timeouts.connect"));
  EXPECT_TRUE(is_supported("listeners.retries.attempts"));
  EXPECT_TRUE(is_supported("clusters.balancer.type", "consistent_hash"));
  EXPECT_TRUE(is_supported("clusters.endpoints.weight"));
  EXPECT_TRUE(is_supported("listeners.protocol", "http"));
  for (const char* path :
       {"listeners.routes", "listeners.rate_limit", "listeners.timeouts.request",
        "listeners.retries.on", "listeners.routes.rate_limit", "rate_limits", "redis", "admin",
        "admin.max_endpoint_series", "log.access", "drain_timeout", "listeners.routes.name",
        "clusters.discovery", "clusters.discovery.file", "clusters.discovery.confirm_window",
        "clusters.health_check", "clusters.panic", "clusters.slow_start"})
    EXPECT_TRUE(is_supported(path)) << path;
}

TEST(Support, WhatIsNotYet) {
  EXPECT_TRUE(is_supported("listeners.proxy_protocol"));
  EXPECT_TRUE(is_supported("listeners.tls"));
}

}  // namespace
}  // namespace sluice::config
