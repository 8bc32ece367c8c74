// parse_config_text: which keys a section may combine — a listener's shape by protocol, a
// route's single target, hash keys a TCP listener cannot see, balancer options that belong to
// another balancer type, and the bound on a hash ring's size — with one exact message each.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/parse.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using testing::kMinimal;

TEST(Parse, ListenerShapeRules) {
  EXPECT_THAT(errors_of(R"(listeners:
  - name: t
    listen: 127.0.0.1:8080
    protocol: tcp
  - name: h
    listen: 127.0.0.1:8081
    protocol: http
    cluster: demo
  - name: p
    listen: 127.0.0.1:8082
clusters:
  - name: demo
    endpoints: [{ address: 127.0.0.1:9001 }]
)"),
              ElementsAre("t.yaml:2:5: listeners[0]: a tcp listener needs a cluster",
                          "t.yaml:5:5: listeners[1]: an http listener needs routes",
                          "t.yaml:8:5: listeners[1].cluster: an http listener picks clusters in "
                          "its routes; cluster is for tcp listeners",
                          "t.yaml:9:5: listeners[2]: missing required key 'protocol' (http or "
                          "tcp)"));
}

TEST(Parse, RouteNeedsExactlyOneTarget) {
  auto errors = errors_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    routes:
      - match: {}
      - match: { path_prefix: / }
        cluster: demo
        direct_response: { status: 600 }
clusters:
  - name: demo
    endpoints: [{ address: 127.0.0.1:9001 }]
)");
  EXPECT_THAT(errors,
              ElementsAre("t.yaml:6:9: listeners[0].routes[0]: a route needs cluster, "
                          "direct_response or redirect",
                          "t.yaml:9:9: listeners[0].routes[1].direct_response: a route has one of "
                          "cluster, direct_response and redirect",
                          "t.yaml:9:36: listeners[0].routes[1].direct_response.status: must be "
                          "between 100 and 599, got 600"));
}

TEST(Parse, TcpListenerCannotHashOnHttpKeys) {
  EXPECT_THAT(errors_of(R"(listeners:
  - { name: web, listen: 127.0.0.1:8080, protocol: tcp, cluster: ch }
clusters:
  - name: ch
    balancer: { type: consistent_hash, key: "cookie:sid" }
    endpoints: [{ address: 127.0.0.1:9001 }]
)"),
              ElementsAre("t.yaml:2:66: listeners[0].cluster: cluster 'ch' hashes on cookie:sid "
                          "(line 5:45), which a tcp connection does not have; use key: client_ip"));
}

TEST(Parse, BalancerOptionsBelongToTheirType) {
  EXPECT_THAT(errors_of(kMinimal + R"(  - name: x
    balancer: { type: round_robin, load: in_flight, algorithm: ring, bounded_load: 1 }
    endpoints: [{ address: 127.0.0.1:9001 }]
  - name: y
    balancer: { type: rr }
    endpoints: [{ address: 127.0.0.1:9001 }]
)"),
              ElementsAre("t.yaml:10:36: clusters[1].balancer.load: applies to balancer type p2c "
                          "only",
                          "t.yaml:10:53: clusters[1].balancer.algorithm: applies to balancer type "
                          "consistent_hash only",
                          "t.yaml:10:70: clusters[1].balancer.bounded_load: applies to balancer "
                          "type consistent_hash only",
                          "t.yaml:10:84: clusters[1].balancer.bounded_load: must be greater than 1 "
                          "and at most 100 (e.g. 1.25), got 1",
                          "t.yaml:13:23: clusters[2].balancer.type: expected one of round_robin, "
                          "weighted_round_robin, least_conn, consistent_hash, p2c, got 'rr'"));
}

TEST(Parse, HashRingSizeIsBounded) {
  EXPECT_THAT(errors_of(kMinimal + R"(  - name: ch
    balancer: { type: consistent_hash, virtual_nodes: 65536 }
    endpoints: [{ address: 127.0.0.1:9001, weight: 100 }]
  - name: mg
    balancer: { type: consistent_hash, algorithm: maglev, virtual_nodes: 10 }
    endpoints: [{ address: 127.0.0.1:9001 }]
)"),
              ElementsAre("t.yaml:10:15: clusters[1].balancer: the hash ring would need 6553600 "
                          "points (virtual_nodes x total weight); at most 4000000",
                          "t.yaml:13:59: clusters[2].balancer.virtual_nodes: applies to algorithm "
                          "ring only"));
}

}  // namespace
}  // namespace sluice::config
