// parse_config_text: what is checked across the file rather than value by value — names and
// keys that must be unique, listen addresses that must not collide (the admin listener's
// too), and references from listeners and routes to clusters and rate limits — with one
// exact message each, and no cascade from one broken list into the next.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/parse.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using testing::kMinimal;

TEST(Parse, DuplicateNamesAndKeys) {
  EXPECT_THAT(errors_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: demo
  - name: web
    listen: 127.0.0.1:8081
    protocol: tcp
    cluster: demo
    cluster: demo
clusters:
  - name: demo
    endpoints: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9001 }]
  - name: demo
    endpoints: [{ address: 127.0.0.1:9002 }]
)"),
              ElementsAre("t.yaml:6:11: listeners[1].name: duplicate listener name 'web' (first "
                          "at line 2:11)",
                          "t.yaml:10:5: listeners[1].cluster: duplicate key (first at line 9:5)",
                          "t.yaml:13:57: clusters[0].endpoints[1].address: duplicate endpoint "
                          "127.0.0.1:9001 (first at line 13:28)",
                          "t.yaml:14:11: clusters[1].name: duplicate cluster name 'demo' (first "
                          "at line 12:11)"));
}

TEST(Parse, DuplicateAndOverlappingListenAddresses) {
  EXPECT_THAT(
      errors_of(R"(listeners:
  - { name: a, listen: 127.0.0.1:8080, protocol: tcp, cluster: demo }
  - { name: b, listen: 127.0.0.1:8080, protocol: tcp, cluster: demo }
  - { name: c, listen: 0.0.0.0:8080, protocol: tcp, cluster: demo }
  - { name: d, listen: "[::]:9090", protocol: tcp, cluster: demo }
  - { name: e, listen: 127.0.0.2:9090, protocol: tcp, cluster: demo }
  - { name: f, listen: 127.0.0.2:9091, protocol: tcp, cluster: demo }
clusters:
  - name: demo
    endpoints: [{ address: 127.0.0.1:9001 }]
)"),
      ElementsAre("t.yaml:3:24: listeners[1].listen: address 127.0.0.1:8080 is already used by "
                  "listener 'a' (line 2:24)",
                  "t.yaml:4:24: listeners[2].listen: address 0.0.0.0:8080 overlaps "
                  "127.0.0.1:8080 of listener 'a' (line 2:24)",
                  "t.yaml:6:24: listeners[4].listen: address 127.0.0.2:9090 overlaps [::]:9090 "
                  "of listener 'd' (line 5:24)"));
}

TEST(Parse, AdminAddressCollidesWithListener) {
  EXPECT_THAT(errors_of(kMinimal + "admin: { listen: 127.0.0.1:8080 }\n"),
              ElementsAre("t.yaml:9:18: admin.listen: address 127.0.0.1:8080 is already used by "
                          "listener 'web' (line 3:13)"));
}

TEST(Parse, DanglingReferences) {
  EXPECT_THAT(errors_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: nowhere
    rate_limit: nolimit
)"),
              ElementsAre("t.yaml:5:14: listeners[0].cluster: unknown cluster 'nowhere' (no "
                          "clusters are defined)",
                          "t.yaml:6:17: listeners[0].rate_limit: unknown rate limit 'nolimit' (no "
                          "rate limits are defined)"));
}

TEST(Parse, RouteReferencesAreChecked) {
  EXPECT_THAT(errors_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    routes:
      - match: { path_prefix: / }
        cluster: apii
        rate_limit: per-clint
clusters:
  - name: api
    endpoints: [{ address: 127.0.0.1:9001 }]
rate_limits:
  - { name: per-client, rate: 10/s }
)"),
              ElementsAre("t.yaml:7:18: listeners[0].routes[0].cluster: unknown cluster 'apii' "
                          "(did you mean 'api'?)",
                          "t.yaml:8:21: listeners[0].routes[0].rate_limit: unknown rate limit "
                          "'per-clint' (did you mean 'per-client'?)"));
}

TEST(Parse, BrokenClusterListDoesNotCascadeIntoUnknownClusters) {
  EXPECT_THAT(errors_of(R"(listeners:
  - { name: web, listen: 127.0.0.1:8080, protocol: tcp, cluster: demo }
clusters:
  - name: 7 7
    endpoints: [{ address: 127.0.0.1:9001 }]
)"),
              ElementsAre("t.yaml:4:11: clusters[0].name: name '7 7' may only contain letters, "
                          "digits, '_', '-' and '.'"));
}

}  // namespace
}  // namespace sluice::config
