// The DNS discovery source against a tiny DNS server that answers what the test says,
// including what real servers will not do on demand: SERVFAIL, silence, truncation, TTLs.
#include "proxy/control/discovery/dns_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/scalars.hpp"
#include "tests/control/dns_test_support.hpp"
#include "tests/support/dns_test_server.hpp"

namespace sluice::proxy::discovery {
namespace {

using ::testing::AllOf;
using testing::DnsTestServer;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Le;
namespace dns_type = testing::dns_type;

class DnsSourceTest : public ::testing::Test {
 protected:
  DnsSourceOptions options(std::string name,
                           DnsSourceOptions::Type type = DnsSourceOptions::Type::a,
                           uint16_t port = 80) {
    DnsSourceOptions o;
    o.name = std::move(name);
    o.type = type;
    o.port = type == DnsSourceOptions::Type::srv ? 0 : port;
    o.resolver.servers = {config::parse_address(server.address()).value.value()};
    o.resolver.timeout = milliseconds(100);
    o.min_ttl = milliseconds(100);
    o.max_ttl = milliseconds(60'000);
    o.negative_ttl = milliseconds(200);
    o.first_backoff = milliseconds(100);
    o.max_backoff = milliseconds(400);
    return o;
  }
  // Starts a source and runs the loop until its first word.
  [[nodiscard]] std::unique_ptr<DnsSource> start(DnsSourceOptions o) {
    auto source = std::make_unique<DnsSource>(loop, std::move(o), sink);
    const size_t before = sink.events.size();
    source->start();
    EXPECT_TRUE(run_until_events(loop, sink, before));
    return source;
  }
  const RecordingSink::Event& last() const { return sink.events.back(); }

  DnsTestServer server;
  control::ControlLoop loop;
  RecordingSink sink;
};

std::string describe(const RecordingSink& sink) {
  std::string out;
  for (const auto& e : sink.events) {
    out += (e.delivered ? "deliver " : "fail ") + e.text + ":";
    for (const auto& endpoint : e.set) out += " " + endpoint.address;
    out += "\n";
  }
  return out;
}

TEST_F(DnsSourceTest, ARecordsWithThePortSortedAndDeduplicated) {
  server.set("api.test", dns_type::a, {"10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.1"}, 30);
  auto source = start(options("api.test", DnsSourceOptions::Type::a, 8080));
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_TRUE(last().delivered) << last().text;
  EXPECT_EQ(last().set, endpoints({"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"}));
  EXPECT_EQ(last().text, "ttl 30 s");
  EXPECT_EQ(source->next_delay(), milliseconds(30'000));  // the TTL, inside [min_ttl, max_ttl]
  EXPECT_EQ(source->kind(), std::string("dns"));
  EXPECT_EQ(source->describe(), "dns A api.test port 8080");
}

TEST_F(DnsSourceTest, AaaaRecordsAreBracketed) {
  server.set("api.test", dns_type::aaaa, {"fd00::2", "fd00::1"}, 5);
  auto source = start(options("api.test", DnsSourceOptions::Type::aaaa, 443));
  EXPECT_TRUE(last().delivered) << last().text;
  EXPECT_EQ(last().set, endpoints({"[fd00::1]:443", "[fd00::2]:443"}));
}

TEST_F(DnsSourceTest, SrvKeepsTheLowestPriorityGroupWithPortsAndWeights) {
  server.set("_api._tcp.test", dns_type::srv,
             {"10 5 8081 one.test", "10 0 8082 two.test", "20 7 9000 backup.test"}, 60);
  server.set("one.test", dns_type::a, {"10.0.1.1", "10.0.1.2"}, 30);
  server.set("one.test", dns_type::aaaa, {"fd00::1"}, 30);  // IPv4 wins: one family per host
  server.set("two.test", dns_type::aaaa, {"fd00::2"}, 20);  // IPv6 only
  server.set("backup.test", dns_type::a, {"10.0.9.9"}, 1);  // a fallback: not used
  auto source = start(options("_api._tcp.test", DnsSourceOptions::Type::srv));
  EXPECT_TRUE(last().delivered) << last().text;
  EXPECT_EQ(last().set, (std::vector<DiscoveredEndpoint>{
                            {"10.0.1.1:8081", 5}, {"10.0.1.2:8081", 5}, {"[fd00::2]:8082", 1}}));
  EXPECT_EQ(last().text, "ttl 20 s");  // the smallest TTL of the records used
  EXPECT_EQ(source->describe(), "dns SRV _api._tcp.test");
}

TEST_F(DnsSourceTest, SrvWithoutAddressesOrTargetsIsEmpty) {
  server.set("_none._tcp.test", dns_type::srv, {"0 0 0 ."}, 60);  // "not offered here"
  auto source = start(options("_none._tcp.test", DnsSourceOptions::Type::srv));
  EXPECT_TRUE(last().delivered) << last().text;
  EXPECT_TRUE(last().set.empty());
}

TEST_F(DnsSourceTest, NxdomainAndNodataAreEmptySetsAskedAgainAfterTheNegativeTtl) {
  auto source = start(options("gone.test"));
  EXPECT_TRUE(last().delivered) << last().text;
  EXPECT_TRUE(last().set.empty());
  EXPECT_EQ(last().text, "NXDOMAIN, negative ttl 200 ms");
  EXPECT_EQ(source->next_delay(), milliseconds(200));

  server.set("gone.test", dns_type::aaaa, {"fd00::1"});  // the name exists, without A records
  ASSERT_TRUE(run_until_events(loop, sink, 1));
  EXPECT_EQ(last().text, "NODATA, negative ttl 200 ms");
  EXPECT_TRUE(last().set.empty());

  server.set("gone.test", dns_type::a, {"10.0.0.7"}, 1);
  const auto before = Clock::now();
  ASSERT_TRUE(run_until_events(loop, sink, 2));
  EXPECT_EQ(last().set, endpoints({"10.0.0.7:80"}));
  EXPECT_LT(Clock::now() - before, milliseconds(700));  // asked again after ~200 ms
}

TEST_F(DnsSourceTest, ServfailAndRefusedFailAndBackOffWithJitterUntilRecovery) {
  server.set_mode(DnsTestServer::Mode::servfail);
  auto source = start(options("api.test"));
  ASSERT_FALSE(last().delivered);
  EXPECT_THAT(last().text, HasSubstr("dns A api.test port 80: "));
  EXPECT_THAT(last().text, HasSubstr("general failure"));
  // 100 ms, then 200, then 400, capped at 400; each ±20%.
  EXPECT_THAT(source->next_delay(), AllOf(Ge(milliseconds(80)), Le(milliseconds(120))));
  ASSERT_TRUE(run_until_events(loop, sink, 1));
  EXPECT_THAT(source->next_delay(), AllOf(Ge(milliseconds(160)), Le(milliseconds(240))));
  server.set_mode(DnsTestServer::Mode::refused);
  ASSERT_TRUE(run_until_events(loop, sink, 2));
  EXPECT_FALSE(last().delivered);
  EXPECT_THAT(last().text, HasSubstr("refused"));
  EXPECT_THAT(source->next_delay(), AllOf(Ge(milliseconds(320)), Le(milliseconds(480))));
  ASSERT_TRUE(run_until_events(loop, sink, 3));
  EXPECT_THAT(source->next_delay(), AllOf(Ge(milliseconds(320)), Le(milliseconds(480))));

  server.set_mode(DnsTestServer::Mode::answer);
  server.set("api.test", dns_type::a, {"10.0.0.1"}, 3);
  ASSERT_TRUE(run_until(loop, [&] { return last().delivered; }));
  EXPECT_EQ(last().set, endpoints({"10.0.0.1:80"}));
  EXPECT_EQ(source->next_delay(), milliseconds(3000));  // the back-off is over
}

TEST_F(DnsSourceTest, ASilentServerTimesOutThenRecovers) {
  server.set_mode(DnsTestServer::Mode::silent);
  const auto before = Clock::now();
  auto source = start(options("api.test"));
  ASSERT_FALSE(last().delivered);
  EXPECT_THAT(last().text, HasSubstr("Timeout"));
  // Two tries: 100 ms, then 200 ms.
  EXPECT_THAT(Clock::now() - before, AllOf(Ge(milliseconds(250)), Le(milliseconds(1500))));
  EXPECT_GE(server.udp_queries(), 2u);

  server.set("api.test", dns_type::a, {"10.0.0.1"}, 3);
  server.set_mode(DnsTestServer::Mode::answer);
  ASSERT_TRUE(run_until(loop, [&] { return last().delivered; }));
  EXPECT_EQ(last().set, endpoints({"10.0.0.1:80"}));
}

TEST_F(DnsSourceTest, NobodyListeningFails) {
  DnsSourceOptions o = options("api.test");
  const uint16_t nobody = testing::DnsTestServer().port();  // closed again at once
  o.resolver.servers = {config::parse_address("127.0.0.1:" + std::to_string(nobody)).value.value()};
  auto source = start(std::move(o));
  EXPECT_FALSE(last().delivered);
  EXPECT_THAT(last().text, HasSubstr("dns A api.test port 80: Could not contact DNS servers"));
}

TEST_F(DnsSourceTest, AnotherResolverAnswersWhenTheFirstFails) {
  DnsTestServer second;
  second.set("api.test", dns_type::a, {"10.0.0.2"}, 30);
  DnsSourceOptions o = options("api.test");
  o.resolver.servers.push_back(config::parse_address(second.address()).value.value());
  // Silent: the same question moves on to the next resolver after its timeout.
  server.set_mode(DnsTestServer::Mode::silent);
  auto quiet = start(o);
  EXPECT_TRUE(last().delivered) << last().text;
  EXPECT_EQ(last().set, endpoints({"10.0.0.2:80"}));
  // REFUSED is reported as such; the retry starts at the next resolver.
  server.set_mode(DnsTestServer::Mode::refused);
  auto refusing = std::make_unique<DnsSource>(loop, o, sink);
  const size_t before = sink.events.size();
  refusing->start();
  ASSERT_TRUE(run_until(loop, [&] {
    return sink.events.size() > before && sink.events.back().delivered;
  })) << describe(sink);
  EXPECT_EQ(last().set, endpoints({"10.0.0.2:80"}));
}

std::vector<std::string> many_addresses(int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i)
    out.push_back("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
  return out;
}

TEST_F(DnsSourceTest, Edns0TakesAnswersLargerThan512BytesOverUdp) {
  server.set("forty.test", dns_type::a, many_addresses(40), 30);  // ~670 bytes
  auto source = start(options("forty.test"));
  EXPECT_TRUE(last().delivered) << last().text;
  EXPECT_EQ(last().set.size(), 40u);
  EXPECT_TRUE(server.last_udp_had_edns());
  EXPECT_EQ(server.tcp_queries(), 0u);
}

TEST_F(DnsSourceTest, ATruncatedUdpAnswerIsAskedAgainOverTcp) {
  server.set("many.test", dns_type::a, many_addresses(300), 30);  // ~4.8 kB: beyond EDNS0's 1232
  auto source = start(options("many.test"));
  EXPECT_TRUE(last().delivered) << last().text;
  EXPECT_EQ(last().set.size(), 300u);
  EXPECT_EQ(server.udp_queries(), 1u);
  EXPECT_EQ(server.tcp_queries(), 1u);
}

TEST_F(DnsSourceTest, TtlsAreClampedToTheConfiguredRange) {
  server.set("zero.test", dns_type::a, {"10.0.0.1"}, 0);
  server.set("long.test", dns_type::a, {"10.0.0.1"}, 86400);
  auto zero = start(options("zero.test"));
  EXPECT_EQ(last().text, "ttl 0 s, clamped to 100 ms");
  EXPECT_EQ(zero->next_delay(), milliseconds(100));
  auto long_lived = start(options("long.test"));
  EXPECT_EQ(last().text, "ttl 86400 s, clamped to 60 s");
  EXPECT_EQ(long_lived->next_delay(), milliseconds(60'000));
}

TEST_F(DnsSourceTest, AChangeIsPickedUpWhenTheTtlExpires) {
  server.set("api.test", dns_type::a, {"10.0.0.1"}, 1);
  const auto first = Clock::now();
  auto source = start(options("api.test"));
  server.set("api.test", dns_type::a, {"10.0.0.2", "10.0.0.3"}, 1);
  ASSERT_TRUE(run_until(loop, [&] { return last().set.size() == 2; })) << describe(sink);
  EXPECT_EQ(last().set, endpoints({"10.0.0.2:80", "10.0.0.3:80"}));
  // Not before the 1 s TTL expired, and soon after.
  EXPECT_THAT(last().at - first, AllOf(Ge(milliseconds(950)), Le(milliseconds(2000))));
  EXPECT_EQ(sink.events.size(), 2u);
}

TEST_F(DnsSourceTest, DestroyedWithAQuestionInFlightSaysNothingMore) {
  server.set_mode(DnsTestServer::Mode::silent);
  auto source = std::make_unique<DnsSource>(loop, options("api.test"), sink);
  source->start();
  loop.run_once(milliseconds(20));
  source.reset();
  run_until(
      loop, [] { return false; }, milliseconds(400));
  EXPECT_TRUE(sink.events.empty());
}

TEST(DnsSourceOptions, FromConfig) {
  config::DnsDiscovery dns;
  dns.name = "_api._tcp.internal";
  dns.type = "SRV";
  dns.resolvers = {config::parse_address("127.0.0.1:5353").value.value()};
  dns.min_ttl = milliseconds(500);
  dns.max_ttl = milliseconds(60'000);
  dns.negative_ttl = milliseconds(3000);
  dns.timeout = milliseconds(700);
  auto o = DnsSourceOptions::from(dns);
  EXPECT_EQ(o.name, "_api._tcp.internal");
  EXPECT_EQ(o.type, DnsSourceOptions::Type::srv);
  ASSERT_EQ(o.resolver.servers.size(), 1u);
  EXPECT_EQ(o.resolver.servers[0].text, "127.0.0.1:5353");
  EXPECT_EQ(o.resolver.timeout, milliseconds(700));
  EXPECT_EQ(o.min_ttl, milliseconds(500));
  EXPECT_EQ(o.max_ttl, milliseconds(60'000));
  EXPECT_EQ(o.negative_ttl, milliseconds(3000));
  dns.type = "AAAA";
  dns.port = 8443;
  EXPECT_EQ(DnsSourceOptions::from(dns).type, DnsSourceOptions::Type::aaaa);
  EXPECT_EQ(DnsSourceOptions::from(dns).port, 8443);
}

}  // namespace
}  // namespace sluice::proxy::discovery
