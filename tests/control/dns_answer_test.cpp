// What a DNS answer means (proxy/control/discovery/dns_answer), on answers built byte by byte.
#include "proxy/control/discovery/dns_answer.hpp"

#include <gtest/gtest.h>

#include "tests/support/dns_wire.hpp"

namespace sluice::proxy::discovery {
namespace {

namespace dns_type = testing::dns_type;
using testing::dns_rdata;
using testing::DnsRecordData;

std::vector<uint8_t> answer(uint16_t type, std::vector<DnsRecordData> records) {
  testing::DnsQuery query;
  query.id = 7;
  query.name = "api.test";
  query.type = type;
  return testing::encode_dns_response(query, 0, records);
}

TEST(DnsAnswer, MinTtlIsTheSmallestAndTheTopBitMeansZero) {
  auto a = answer(dns_type::a, {{dns_type::a, 30, dns_rdata(dns_type::a, "10.0.0.1")},
                                {dns_type::a, 7, dns_rdata(dns_type::a, "10.0.0.2")},
                                {dns_type::a, 60, dns_rdata(dns_type::a, "10.0.0.3")}});
  EXPECT_EQ(min_answer_ttl(a), 7u);
  auto huge = answer(dns_type::a, {{dns_type::a, 0x80000001u, dns_rdata(dns_type::a, "10.0.0.1")},
                                   {dns_type::a, 30, dns_rdata(dns_type::a, "10.0.0.2")}});
  EXPECT_EQ(min_answer_ttl(huge), 0u);  // RFC 2181: treated as zero
  EXPECT_EQ(min_answer_ttl(answer(dns_type::a, {})), std::nullopt);
  a.resize(a.size() - 3);  // the last record cut short
  EXPECT_EQ(min_answer_ttl(a), std::nullopt);
  EXPECT_EQ(min_answer_ttl(std::vector<uint8_t>(5, 0)), std::nullopt);
}

TEST(DnsAnswer, Addresses) {
  std::string error;
  auto v4 = answer(dns_type::a, {{dns_type::a, 1, dns_rdata(dns_type::a, "10.0.0.1")}});
  EXPECT_EQ(parse_addresses(v4, dns_type::a, &error), std::vector<std::string>{"10.0.0.1"});
  auto v6 = answer(dns_type::aaaa, {{dns_type::aaaa, 1, dns_rdata(dns_type::aaaa, "fd00::1")}});
  EXPECT_EQ(parse_addresses(v6, dns_type::aaaa, &error), std::vector<std::string>{"fd00::1"});
  EXPECT_EQ(error, "");
  std::vector<uint8_t> garbage = {0, 7, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 99};
  EXPECT_TRUE(parse_addresses(garbage, dns_type::a, &error).empty());
  EXPECT_NE(error, "");
}

TEST(DnsAnswer, SrvKeepsTheLowestPriorityGroupAndDropsTheRootTarget) {
  std::string error;
  auto srv =
      answer(dns_type::srv, {{dns_type::srv, 1, dns_rdata(dns_type::srv, "20 1 9000 b.test")},
                             {dns_type::srv, 1, dns_rdata(dns_type::srv, "10 5 8080 a.test")},
                             {dns_type::srv, 1, dns_rdata(dns_type::srv, "10 0 8081 c.test")}});
  auto records = parse_srv(srv, &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], (SrvRecord{10, 5, 8080, "a.test"}));
  EXPECT_EQ(records[1], (SrvRecord{10, 0, 8081, "c.test"}));
  auto none = answer(dns_type::srv, {{dns_type::srv, 1, dns_rdata(dns_type::srv, "0 0 0 .")}});
  EXPECT_TRUE(parse_srv(none, &error).empty());
  EXPECT_EQ(error, "");
}

TEST(DnsAnswer, CanonicalSetsCompareEqual) {
  EXPECT_EQ(endpoint_address("10.0.0.1", 80), "10.0.0.1:80");
  EXPECT_EQ(endpoint_address("fd00::1", 443), "[fd00::1]:443");
  std::vector<DiscoveredEndpoint> one = {
      {"10.0.0.2:80", 1}, {"10.0.0.1:80", 1}, {"10.0.0.2:80", 5}};
  std::vector<DiscoveredEndpoint> two = {{"10.0.0.2:80", 5}, {"10.0.0.1:80", 1}};
  canonicalize(one);
  canonicalize(two);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, (std::vector<DiscoveredEndpoint>{{"10.0.0.1:80", 1}, {"10.0.0.2:80", 5}}));
}

}  // namespace
}  // namespace sluice::proxy::discovery
