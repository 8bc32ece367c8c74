// clusters[].discovery.etcd and .consul (config/parse_discovery_kv.cpp): values, defaults and
// file:line:col errors. `clusters.discovery` is still on the support table, so its one "not
// supported yet" line is left out of what these tests compare.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <variant>

#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kHead = R"(listeners:
  - { name: web, listen: 127.0.0.1:8080, protocol: tcp, cluster: demo }
clusters:
  - name: demo
)";

std::vector<std::string> errors_besides_support(const std::string& text) {
  std::vector<std::string> out;
  for (auto& e : testing::errors_of(text))
    if (e.find("is not supported yet") == std::string::npos) out.push_back(e);
  return out;
}

const Discovery& discovery_of(const ParseResult& result) {
  return *result.config.clusters.at(0).discovery;
}

TEST(ParseDiscoveryKv, EtcdWithDefaultsAndWithEverything) {
  auto plain = parse_config_text(
      kHead + "    discovery: { etcd: { endpoints: [127.0.0.1:2379], prefix: /s/api/ } }\n",
      "t.yaml");
  const auto& etcd = std::get<EtcdDiscovery>(discovery_of(plain));
  EXPECT_EQ(etcd.prefix, "/s/api/");
  ASSERT_EQ(etcd.endpoints.size(), 1u);
  EXPECT_EQ(etcd.endpoints[0].text, "127.0.0.1:2379");
  EXPECT_EQ(etcd.timeout, Duration(5000));
  EXPECT_EQ(etcd.watchdog, Duration(10000));

  auto full = parse_config_text(kHead + R"(    discovery:
      etcd: { endpoints: [127.0.0.1:2379, "[::1]:2379"], prefix: /s/, timeout: 2s, watchdog: 3s }
)",
                                "t.yaml");
  const auto& e = std::get<EtcdDiscovery>(discovery_of(full));
  EXPECT_EQ(e.endpoints.size(), 2u);
  EXPECT_EQ(e.timeout, Duration(2000));
  EXPECT_EQ(e.watchdog, Duration(3000));
}

TEST(ParseDiscoveryKv, EtcdErrorsPointAtTheValue) {
  EXPECT_THAT(
      errors_besides_support(kHead + R"(    discovery:
      etcd: { endpoints: [], prefix: services, timeout: 5s, watchdog: 1s, ttl: 3 }
)"),
      ElementsAre("t.yaml:6:26: clusters[0].discovery.etcd.endpoints: needs at least one "
                  "address",
                  "t.yaml:6:38: clusters[0].discovery.etcd.prefix: an etcd prefix starts "
                  "with '/', got 'services'",
                  "t.yaml:6:71: clusters[0].discovery.etcd.watchdog: must not be shorter "
                  "than timeout (5000 ms)",
                  "t.yaml:6:75: clusters[0].discovery.etcd.ttl: unknown key (expected one of "
                  "endpoints, prefix, timeout, watchdog)"));
}

TEST(ParseDiscoveryKv, ConsulWithDefaultsAndWithEverything) {
  auto plain = parse_config_text(
      kHead + "    discovery: { consul: { address: 127.0.0.1:8500, service: api } }\n", "t.yaml");
  const auto& consul = std::get<ConsulDiscovery>(discovery_of(plain));
  EXPECT_EQ(consul.address.text, "127.0.0.1:8500");
  EXPECT_EQ(consul.service, "api");
  EXPECT_EQ(consul.tag, "");
  EXPECT_EQ(consul.datacenter, "");
  EXPECT_EQ(consul.wait, Duration(60000));
  EXPECT_EQ(consul.timeout, Duration(5000));

  auto full = parse_config_text(kHead + R"(    discovery:
      consul: { address: 127.0.0.1:8500, service: api, tag: v2, datacenter: eu-1, wait: 30s, timeout: 1s }
)",
                                "t.yaml");
  EXPECT_THAT(errors_besides_support(kHead + R"(    discovery:
      consul: { address: 127.0.0.1:8500, service: api, tag: v2, datacenter: eu-1, wait: 30s, timeout: 1s }
)"),
              IsEmpty());
  const auto& c = std::get<ConsulDiscovery>(discovery_of(full));
  EXPECT_EQ(c.tag, "v2");
  EXPECT_EQ(c.datacenter, "eu-1");
  EXPECT_EQ(c.wait, Duration(30000));
  EXPECT_EQ(c.timeout, Duration(1000));
}

TEST(ParseDiscoveryKv, ConsulErrorsPointAtTheValue) {
  EXPECT_THAT(
      errors_besides_support(kHead + R"(    discovery:
      consul: { address: consul:8500, service: "api v2", tag: "a&b", wait: 11m }
)"),
      ElementsAre(::testing::StartsWith("t.yaml:6:26: clusters[0].discovery.consul.address: "),
                  "t.yaml:6:48: clusters[0].discovery.consul.service: expected a Consul "
                  "service name (letters, digits, '-', '_', '.'), got 'api v2'",
                  "t.yaml:6:63: clusters[0].discovery.consul.tag: expected a Consul tag "
                  "(letters, digits, '-', '_', '.'), got 'a&b'",
                  "t.yaml:6:76: clusters[0].discovery.consul.wait: Consul waits at most "
                  "10m"));
  EXPECT_THAT(errors_besides_support(kHead + "    discovery: { consul: { service: api } }\n"),
              ElementsAre("t.yaml:5:26: clusters[0].discovery.consul: missing required key "
                          "'address'"));
}

TEST(ParseDiscoveryKv, OneSourceOnly) {
  EXPECT_THAT(
      errors_besides_support(
          kHead +
          "    discovery: { file: a.yaml, consul: { address: 127.0.0.1:8500, service: a } }\n"),
      ElementsAre("t.yaml:5:32: clusters[0].discovery.consul: discovery takes one of file, dns, "
                  "etcd, consul"));
  EXPECT_THAT(errors_besides_support(kHead + "    discovery: {}\n"),
              ElementsAre("t.yaml:5:16: clusters[0].discovery: needs one of file, dns, etcd, "
                          "consul"));
}

}  // namespace
}  // namespace sluice::config
