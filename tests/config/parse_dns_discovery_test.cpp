// clusters[].discovery.dns: the resolver and TTL options of the DNS source, with positions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "config/parse.hpp"
#include "test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;

// A cluster fed by DNS with `options` added to its dns map (line 8 of the text).
std::string with_dns(const std::string& options) {
  return R"(listeners:
  - { name: web, listen: 127.0.0.1:8080, protocol: tcp, cluster: api }
clusters:
  - name: api
    discovery:
      dns:
        name: api.internal
        port: 8080
)" + options;
}

// The errors about the dns map; "discovery is not supported yet" comes and goes with wiring.
std::vector<std::string> dns_errors(const std::string& options) {
  std::vector<std::string> out;
  for (auto& e : errors_of(with_dns(options)))
    if (e.find("is not supported yet") == std::string::npos) out.push_back(e);
  return out;
}

DnsDiscovery dns_of(const std::string& options) {
  auto result = parse_config_text(with_dns(options), "t.yaml");
  const auto& discovery = result.config.clusters.at(0).discovery;
  EXPECT_TRUE(discovery.has_value());
  return std::get<DnsDiscovery>(discovery.value());
}

TEST(ParseDnsDiscovery, Defaults) {
  EXPECT_THAT(dns_errors(""), ElementsAre());
  DnsDiscovery dns = dns_of("");
  EXPECT_TRUE(dns.resolvers.empty());  // /etc/resolv.conf
  EXPECT_EQ(dns.min_ttl, Duration(1000));
  EXPECT_EQ(dns.max_ttl, Duration(300'000));
  EXPECT_EQ(dns.negative_ttl, Duration(5000));
  EXPECT_EQ(dns.timeout, Duration(2000));
}

TEST(ParseDnsDiscovery, EveryOption) {
  const std::string options = R"(        resolvers: [127.0.0.1:5353, "[::1]:53"]
        min_ttl: 200ms
        max_ttl: 1m
        negative_ttl: 10s
        timeout: 500ms
)";
  EXPECT_THAT(dns_errors(options), ElementsAre());
  DnsDiscovery dns = dns_of(options);
  ASSERT_EQ(dns.resolvers.size(), 2u);
  EXPECT_EQ(dns.resolvers[0].text, "127.0.0.1:5353");
  EXPECT_EQ(dns.resolvers[1].family(), AF_INET6);
  EXPECT_EQ(dns.min_ttl, Duration(200));
  EXPECT_EQ(dns.max_ttl, Duration(60'000));
  EXPECT_EQ(dns.negative_ttl, Duration(10'000));
  EXPECT_EQ(dns.timeout, Duration(500));
}

TEST(ParseDnsDiscovery, BadValuesSayWhere) {
  EXPECT_THAT(dns_errors(R"(        resolvers: [127.0.0.1, 10.0.0.1:53]
        min_ttl: 0s
        negative_ttl: soon
        timeout: 31s
)"),
              ElementsAre("t.yaml:9:21: clusters[0].discovery.dns.resolvers[0]: missing ':port' "
                          "in '127.0.0.1' (expected host:port, e.g. 127.0.0.1:8080 or "
                          "[::1]:8080)",
                          "t.yaml:10:18: clusters[0].discovery.dns.min_ttl: must be longer than 0",
                          "t.yaml:11:23: clusters[0].discovery.dns.negative_ttl: expected a "
                          "duration like 250ms, 2s, 1m or 1h, got 'soon'",
                          "t.yaml:12:18: clusters[0].discovery.dns.timeout: must be at most 30s"));
  EXPECT_THAT(dns_errors("        resolvers: []\n"),
              ElementsAre("t.yaml:9:20: clusters[0].discovery.dns.resolvers: needs at least one "
                          "address (or leave it out for /etc/resolv.conf)"));
  EXPECT_THAT(dns_errors("        resolvers: 127.0.0.1:53\n"),
              ElementsAre("t.yaml:9:20: clusters[0].discovery.dns.resolvers: expected a list, "
                          "got '127.0.0.1:53'"));
}

TEST(ParseDnsDiscovery, MinTtlMustNotExceedMaxTtl) {
  EXPECT_THAT(dns_errors("        min_ttl: 2m\n        max_ttl: 1m\n"),
              ElementsAre("t.yaml:9:18: clusters[0].discovery.dns.min_ttl: must not be longer "
                          "than max_ttl"));
  // Only max_ttl written, below the default min_ttl: the error is where the user wrote it.
  EXPECT_THAT(dns_errors("        max_ttl: 500ms\n"),
              ElementsAre("t.yaml:9:18: clusters[0].discovery.dns.max_ttl: must not be shorter "
                          "than min_ttl (1s when not given)"));
  EXPECT_THAT(dns_errors("        min_ttl: 1m\n        max_ttl: 1m\n"), ElementsAre());
}

TEST(ParseDnsDiscovery, UnknownKeysAreReported) {
  EXPECT_THAT(dns_errors("        max_tll: 1m\n"),
              ElementsAre("t.yaml:9:9: clusters[0].discovery.dns.max_tll: unknown key (did you "
                          "mean 'max_ttl'?)"));
}

}  // namespace
}  // namespace sluice::config
