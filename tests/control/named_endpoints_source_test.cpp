// Host names in static endpoints (proxy/control/discovery/named_endpoints_source): one DNS
// source per name, their answers joined with the literal addresses, against the tiny DNS
// server of tests/support.
#include "proxy/control/discovery/named_endpoints_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/scalars.hpp"
#include "tests/control/dns_test_support.hpp"
#include "tests/support/dns_test_server.hpp"

namespace sluice::proxy::discovery {
namespace {

using testing::DnsTestServer;
using ::testing::HasSubstr;
namespace dns_type = testing::dns_type;

class NamedEndpointsSourceTest : public ::testing::Test {
 protected:
  // Cluster endpoints: "name:port" entries are resolved, others are literal.
  config::Cluster cluster(std::vector<std::pair<std::string, uint32_t>> written) {
    config::Cluster c;
    c.name = "api";
    for (auto& [text, weight] : written) {
      config::Endpoint e;
      e.weight = weight;
      if (auto named = config::parse_named_address(text)) {
        e.host = named->host;
        e.port = named->port;
        e.address.text = text;
      } else {
        e.address = config::parse_address(text).value.value();
      }
      c.endpoints.push_back(std::move(e));
    }
    c.endpoint_dns.resolvers = {config::parse_address(server.address()).value.value()};
    c.endpoint_dns.timeout = milliseconds(100);
    c.endpoint_dns.min_ttl = milliseconds(100);
    c.endpoint_dns.negative_ttl = milliseconds(200);
    return c;
  }

  DnsTestServer server;
  control::ControlLoop loop;
  RecordingSink sink;
};

TEST_F(NamedEndpointsSourceTest, TheFirstSetJoinsEveryNameWithTheLiteralAddresses) {
  server.set("a.test", dns_type::a, {"10.0.0.2", "10.0.0.1"}, 30);
  server.set("b.test", dns_type::a, {"10.0.0.1", "10.0.0.3"}, 30);
  NamedEndpointsSource source(loop, sink,
                              cluster({{"10.0.0.9:80", 1}, {"a.test:80", 5}, {"b.test:80", 2}}));
  EXPECT_EQ(source.kind(), std::string("dns"));
  EXPECT_EQ(source.describe(), "dns A a.test:80, b.test:80");
  source.start();
  ASSERT_TRUE(run_until_events(loop, sink, 0));
  ASSERT_TRUE(sink.events[0].delivered) << sink.events[0].text;
  // One set once both names answered: literal first, then each name's in order; the address
  // both names share runs once, with the first name's weight.
  EXPECT_EQ(sink.events[0].set,
            (std::vector<DiscoveredEndpoint>{
                {"10.0.0.9:80", 1}, {"10.0.0.1:80", 5}, {"10.0.0.2:80", 5}, {"10.0.0.3:80", 2}}));
  EXPECT_EQ(sink.events[0].text, "2 of 2 names resolved");
  loop.run_once(milliseconds(50));
  EXPECT_EQ(sink.events.size(), 1u);
}

TEST_F(NamedEndpointsSourceTest, FailingNamesLeaveTheLiteralAddressesAndSayItOnce) {
  server.set("a.test", dns_type::a, {"10.0.0.1"}, 1);
  server.set_mode(DnsTestServer::Mode::servfail);
  NamedEndpointsSource source(loop, sink, cluster({{"10.0.0.9:80", 1}, {"a.test:80", 1}}));
  source.start();
  ASSERT_TRUE(run_until_events(loop, sink, 1));
  // The literal address goes out, and the cluster is told the name failed (stale).
  EXPECT_TRUE(sink.events[0].delivered);
  EXPECT_EQ(sink.events[0].set, endpoints({"10.0.0.9:80"}));
  EXPECT_EQ(sink.events[0].text, "0 of 1 names resolved");
  EXPECT_FALSE(sink.events[1].delivered);
  EXPECT_THAT(sink.events[1].text, HasSubstr("a.test"));
  // The next failure (after a 1 s back-off) is a failure only: nothing new to deliver.
  ASSERT_TRUE(run_until_events(loop, sink, 2));
  EXPECT_FALSE(sink.events[2].delivered);
  server.set_mode(DnsTestServer::Mode::answer);
  ASSERT_TRUE(run_until(loop, [&] { return sink.events.back().delivered; }));
  EXPECT_EQ(sink.events.back().set, endpoints({"10.0.0.9:80", "10.0.0.1:80"}));
  EXPECT_EQ(sink.events.back().text, "1 of 1 names resolved");
}

TEST_F(NamedEndpointsSourceTest, AllNamesFailingWithoutLiteralsIsAFailureOnly) {
  server.set_mode(DnsTestServer::Mode::servfail);
  NamedEndpointsSource source(loop, sink, cluster({{"a.test:80", 1}, {"b.test:81", 1}}));
  source.start();
  ASSERT_TRUE(run_until_events(loop, sink, 0));
  loop.run_once(milliseconds(50));
  for (const auto& e : sink.events) EXPECT_FALSE(e.delivered) << e.text;
}

}  // namespace
}  // namespace sluice::proxy::discovery
