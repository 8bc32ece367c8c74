// listeners[].proxy_protocol (trusted ranges, timeout; `true` alone refused) and
// clusters[].proxy_protocol (off, v1, v2), and the address ranges they take.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/cidr.hpp"
#include "config/parse.hpp"
#include "config/scalars.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;

std::string config_with(const std::string& listener_keys, const std::string& cluster_keys = "") {
  return R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: c
)" + listener_keys +
         R"(clusters:
  - name: c
    endpoints: [{ address: 127.0.0.1:9001 }]
)" + cluster_keys;
}

TEST(ParseProxyProtocol, OffByDefaultAndWithFalse) {
  for (const std::string keys : {"", "    proxy_protocol: false\n"}) {
    ParseResult r = parse_config_text(config_with(keys), "t.yaml");
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.config.listeners[0].proxy_protocol);
    EXPECT_EQ(r.config.clusters[0].proxy_protocol, ProxyProtocolSend::off);
  }
}

TEST(ParseProxyProtocol, TrustedRangesAndTimeout) {
  ParseResult r = parse_config_text(
      config_with("    proxy_protocol:\n      trusted: [10.0.0.0/8, \"fd00::/8\", 127.0.0.1]\n"
                  "      timeout: 250ms\n",
                  "    proxy_protocol: v2\n"),
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  const auto& accept = *r.config.listeners[0].proxy_protocol;
  ASSERT_EQ(accept.trusted.size(), 3u);
  EXPECT_EQ(accept.trusted[0].text, "10.0.0.0/8");
  EXPECT_EQ(accept.trusted[0].family, AF_INET);
  EXPECT_EQ(accept.trusted[0].prefix, 8);
  EXPECT_EQ(accept.trusted[1].family, AF_INET6);
  EXPECT_EQ(accept.trusted[1].prefix, 8);
  EXPECT_EQ(accept.trusted[2].prefix, 32);
  EXPECT_EQ(accept.timeout, Duration(250));
  EXPECT_EQ(r.config.clusters[0].proxy_protocol, ProxyProtocolSend::v2);
}

TEST(ParseProxyProtocol, DefaultTimeoutIsFiveSeconds) {
  ParseResult r =
      parse_config_text(config_with("    proxy_protocol: { trusted: [\"::1\"] }\n"), "t.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.listeners[0].proxy_protocol->timeout, Duration(5000));
  EXPECT_EQ(r.config.listeners[0].proxy_protocol->trusted[0].prefix, 128);
}

TEST(ParseProxyProtocol, TrueAloneSaysWhatToWriteInstead) {
  EXPECT_THAT(errors_of(config_with("    proxy_protocol: true\n")),
              ElementsAre("t.yaml:6:21: listeners[0].proxy_protocol: true would trust a header "
                          "from any source; list who may send one: proxy_protocol: {trusted: "
                          "[10.0.0.0/8]}"));
}

TEST(ParseProxyProtocol, Errors) {
  EXPECT_THAT(errors_of(config_with("    proxy_protocol: { timeout: 1s }\n")),
              ElementsAre("t.yaml:6:21: listeners[0].proxy_protocol: missing required key "
                          "'trusted' (the source ranges that may send a header)"));
  EXPECT_THAT(errors_of(config_with("    proxy_protocol: { trusted: [] }\n")),
              ElementsAre("t.yaml:6:32: listeners[0].proxy_protocol.trusted: needs at least one "
                          "range (a listener nobody may use is a mistake)"));
  EXPECT_THAT(
      errors_of(config_with("    proxy_protocol: { trusted: [10.1.0.0/8, 1.2.3.4/33, x] }\n")),
      ElementsAre("t.yaml:6:33: listeners[0].proxy_protocol.trusted[0]: '10.1.0.0/8' has bits "
                  "set past its prefix length; the range starts at a network address",
                  "t.yaml:6:45: listeners[0].proxy_protocol.trusted[1]: a prefix length is "
                  "0..32, got '1.2.3.4/33'",
                  "t.yaml:6:57: listeners[0].proxy_protocol.trusted[2]: expected an address or "
                  "CIDR range like 10.0.0.0/8 or 2001:db8::/32, got 'x'"));
  EXPECT_THAT(errors_of(config_with("", "    proxy_protocol: v3\n")),
              ElementsAre("t.yaml:9:21: clusters[0].proxy_protocol: expected one of off, v1, v2, "
                          "got 'v3' (did you mean 'v1'?)"));
}

TEST(ParseCidr, Ranges) {
  auto v4 = parse_cidr("192.168.0.0/16");
  ASSERT_TRUE(v4) << v4.error;
  EXPECT_EQ(v4.value->bytes[0], 192);
  EXPECT_EQ(v4.value->bytes[1], 168);
  EXPECT_TRUE(parse_cidr("0.0.0.0/0"));
  EXPECT_TRUE(parse_cidr("::/0"));
  EXPECT_TRUE(parse_cidr("2001:db8::/32"));
  EXPECT_FALSE(parse_cidr("10.0.0.1/31"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/+8"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/8x"));
  EXPECT_FALSE(parse_cidr("::1/129"));
  EXPECT_FALSE(parse_cidr("10.0.0/8"));
}

}  // namespace
}  // namespace sluice::config
