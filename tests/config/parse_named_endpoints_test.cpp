// Host names in clusters[].endpoints ("api-1.internal:8080") and clusters[].dns, the map that
// says how they resolve; the literal addresses beside them are parsed as before.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/parse.hpp"
#include "config/to_json.hpp"
#include "test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;

// Cluster `api` with `body` under it (line 5 on).
std::string cluster(const std::string& body) {
  return R"(listeners:
  - { name: web, listen: 127.0.0.1:8080, protocol: tcp, cluster: api }
clusters:
  - name: api
)" + body;
}

TEST(ParseNamedEndpoints, NamesAndLiteralAddressesSideBySide) {
  auto result = parse_config_text(cluster(R"(    endpoints:
      - { address: api-1.internal:8080, weight: 3 }
      - { address: 10.0.0.7:8080 }
      - { address: localhost:9000 }
)"),
                                  "t.yaml");
  ASSERT_THAT(result.errors, ElementsAre());
  const Cluster& c = result.config.clusters.at(0);
  ASSERT_EQ(c.endpoints.size(), 3u);
  EXPECT_TRUE(c.has_named_endpoints());
  EXPECT_EQ(c.endpoints[0].host, "api-1.internal");
  EXPECT_EQ(c.endpoints[0].port, 8080);
  EXPECT_EQ(c.endpoints[0].weight, 3u);
  EXPECT_EQ(c.endpoints[0].address.text, "api-1.internal:8080");
  EXPECT_FALSE(c.endpoints[1].named());
  EXPECT_EQ(c.endpoints[1].address.family(), AF_INET);
  EXPECT_FALSE(c.endpoints[2].named());  // localhost needs no resolver
  // Defaults: IPv4 records from /etc/resolv.conf's servers.
  EXPECT_EQ(c.endpoint_dns.type, "A");
  EXPECT_TRUE(c.endpoint_dns.resolvers.empty());
}

TEST(ParseNamedEndpoints, DnsMapSaysHowNamesResolve) {
  auto result = parse_config_text(cluster(R"(    endpoints: [{ address: api.internal:8080 }]
    dns: { type: AAAA, resolvers: [127.0.0.1:5353], min_ttl: 2s, negative_ttl: 3s, timeout: 1s }
)"),
                                  "t.yaml");
  ASSERT_THAT(result.errors, ElementsAre());
  const DnsDiscovery& dns = result.config.clusters.at(0).endpoint_dns;
  EXPECT_EQ(dns.type, "AAAA");
  ASSERT_EQ(dns.resolvers.size(), 1u);
  EXPECT_EQ(dns.resolvers[0].text, "127.0.0.1:5353");
  EXPECT_EQ(dns.min_ttl, Duration(2000));
  EXPECT_EQ(dns.negative_ttl, Duration(3000));
  EXPECT_EQ(dns.timeout, Duration(1000));
}

TEST(ParseNamedEndpoints, MistakesSayWhere) {
  EXPECT_THAT(errors_of(cluster(R"(    endpoints:
      - { address: api.internal:8080 }
      - { address: API.internal:8080 }
      - { address: api.internal:99999 }
      - { address: api.internal }
    dns: { type: SRV, name: x.internal, timeout: 1m }
)")),
              ElementsAre("t.yaml:7:20: clusters[0].endpoints[1].address: duplicate endpoint "
                          "API.internal:8080 (first at line 6:20)",
                          "t.yaml:8:20: clusters[0].endpoints[2].address: port 99999 is out of "
                          "range (1..65535)",
                          "t.yaml:9:20: clusters[0].endpoints[3].address: missing ':port' in "
                          "'api.internal' (expected host:port, e.g. 127.0.0.1:8080 or "
                          "[::1]:8080)",
                          "t.yaml:10:18: clusters[0].dns.type: expected one of A, AAAA, got 'SRV'",
                          "t.yaml:10:23: clusters[0].dns.name: unknown key (expected one of "
                          "type, resolvers, min_ttl, max_ttl, negative_ttl, timeout)",
                          "t.yaml:10:50: clusters[0].dns.timeout: must be at most 30s"));
}

TEST(ParseNamedEndpoints, DnsWithoutNamesIsAMistake) {
  EXPECT_THAT(errors_of(cluster(R"(    endpoints: [{ address: 10.0.0.7:8080 }]
    dns: { resolvers: [127.0.0.1:53] }
)")),
              ElementsAre("t.yaml:6:5: clusters[0].dns: applies to host names in endpoints, and "
                          "clusters[0] has none"));
}

TEST(ParseNamedEndpoints, ConfigJsonShowsTheNamesAsWritten) {
  auto result = parse_config_text(cluster(R"(    endpoints: [{ address: api.internal:8080 }]
    dns: { resolvers: [127.0.0.1:5353] }
)"),
                                  "t.yaml");
  ASSERT_THAT(result.errors, ElementsAre());
  const std::string json = to_json(result.config);
  EXPECT_NE(json.find(R"("address":"api.internal:8080")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("dns":{"type":"A","resolvers":["127.0.0.1:5353"])"), std::string::npos)
      << json;
  // The control thread keeps a cluster's source while this text stays the same.
  EXPECT_NE(discovery_json_text(result.config.clusters.at(0)).find("api.internal:8080"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::config
