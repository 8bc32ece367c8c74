// Consul's health API as the Consul source reads it.
#include "proxy/control/discovery/consul_codec.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy::discovery {
namespace {

using std::chrono::milliseconds;

TEST(ConsulCodec, Target) {
  EXPECT_EQ(consul::health_target({"api", "", ""}, 0, milliseconds(60000)),
            "/v1/health/service/api?passing=1");
  EXPECT_EQ(consul::health_target({"api", "v2", "eu-1"}, 17, milliseconds(1500)),
            "/v1/health/service/api?passing=1&index=17&wait=2s&tag=v2&dc=eu-1");
}

TEST(ConsulCodec, NextIndexFollowsTheBlockingQueryGuidance) {
  EXPECT_EQ(consul::next_index(0, "5"), 5u);
  EXPECT_EQ(consul::next_index(5, "5"), 5u);  // woken without a change
  EXPECT_EQ(consul::next_index(5, "9"), 9u);
  EXPECT_EQ(consul::next_index(9, "4"), 0u);  // backwards: start over
  EXPECT_EQ(consul::next_index(9, "0"), 0u);
  EXPECT_EQ(consul::next_index(9, ""), 0u);
  EXPECT_EQ(consul::next_index(9, "12x"), 0u);
  EXPECT_EQ(consul::next_index(9, "-3"), 0u);
}

TEST(ConsulCodec, Instances) {
  auto a = consul::parse_health_answer(R"([
    {"Node": {"Address": "10.9.0.1"}, "Service": {"ID": "a", "Address": "10.0.0.1", "Port": 80,
     "Weights": {"Passing": 5, "Warning": 1}}},
    {"Node": {"Address": "10.9.0.2"}, "Service": {"ID": "b", "Address": "", "Port": 81}},
    {"Node": {"Address": "2001:db8::3"}, "Service": {"ID": "c", "Port": 82}},
    {"Node": {"Address": "10.9.0.1"}, "Service": {"ID": "a2", "Address": "10.0.0.1", "Port": 80}},
    {"Node": {"Address": "n.internal"}, "Service": {"ID": "d", "Port": 83}},
    {"Node": {"Address": "10.9.0.5"}, "Service": {"ID": "e", "Port": 0}},
    {"Node": {"Address": "10.9.0.6"}}
  ])");
  ASSERT_EQ(a.error, "");
  ASSERT_EQ(a.endpoints.size(), 3u);
  EXPECT_EQ(a.endpoints[0], (DiscoveredEndpoint{"10.0.0.1:80", 5}));
  EXPECT_EQ(a.endpoints[1], (DiscoveredEndpoint{"10.9.0.2:81", 1}));
  EXPECT_EQ(a.endpoints[2], (DiscoveredEndpoint{"[2001:db8::3]:82", 1}));
  ASSERT_EQ(a.skipped.size(), 3u);
  EXPECT_EQ(a.skipped[0], "instance d: address 'n.internal' is not an IP address");
  EXPECT_EQ(a.skipped[1], "instance e: Service.Port 0 is not 1-65535");
  EXPECT_EQ(a.skipped[2], "instance without ID: no Service");
  EXPECT_TRUE(consul::parse_health_answer("[]").endpoints.empty());
  EXPECT_NE(consul::parse_health_answer("{}").error, "");
  EXPECT_NE(consul::parse_health_answer("No cluster leader").error, "");
}

// Found by tests/fuzz/consul_codec_fuzz: inet_pton stops at a NUL, so the bytes after one
// rode along in the endpoint's address text.
TEST(ConsulCodec, ANulInTheAddressIsNotAnAddress) {
  const auto a = consul::parse_health_answer(
      R"([{"Service":{"ID":"a","Address":"10.0.0.7\u0000junk","Port":80}}])");
  EXPECT_TRUE(a.endpoints.empty());
  ASSERT_EQ(a.skipped.size(), 1u);
}

}  // namespace
}  // namespace sluice::proxy::discovery
