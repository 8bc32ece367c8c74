// A cluster fed by DNS SRV records through the real binary: endpoints follow the records
// (each re-asked when its TTL runs out), an NXDOMAIN changes nothing (an empty answer would
// remove every endpoint: it waits for its confirm window), and a resolver that fails keeps
// the last answer, marked stale. The DNS server is tests/support's DnsTestServer on loopback.
#include "tests/discovery/discovery_fixture.hpp"
#include "tests/support/dns_test_server.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

class DnsDiscoveryTest : public FileDiscoveryTest {
 protected:
  // SRV records for backends `which`, TTL 1 s, each target resolving to 127.0.0.1.
  void publish(const std::vector<size_t>& which) {
    std::vector<std::string> records;
    for (size_t i : which) {
      const std::string target = "b" + std::to_string(i) + ".test";
      dns_.set(target, dns_type::a, {"127.0.0.1"}, 1);
      records.push_back("0 1 " + std::to_string(backends_[i].port) + " " + target);
    }
    dns_.set("_web._tcp.test", dns_type::srv, records, 1);
  }
  std::string dns_yaml(const std::string& guard = "confirm_window: 3s") {
    return http_yaml("dns: { name: _web._tcp.test, type: SRV, resolvers: [" + dns_.address() +
                     "], min_ttl: 1s, negative_ttl: 1s, timeout: 500ms }, " + guard);
  }
  DnsTestServer dns_;
};

TEST_F(DnsDiscoveryTest, EndpointsFollowTheRecords) {
  publish({0, 1});
  ASSERT_TRUE(start_sluice(dns_yaml()));
  EXPECT_TRUE(wait_for_backend("a", 3s));
  EXPECT_TRUE(wait_for_backend("b", 3s));
  publish({0, 1, 2});  // seen once the 1 s TTL runs out
  EXPECT_TRUE(wait_for_backend("c", 4s));
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_discovery_endpoints{cluster=\"c\",source=\"dns\"}"), 3);
  EXPECT_EQ(m.get("sluice_discovery_stale{cluster=\"c\",source=\"dns\"}"), 0);
}

TEST_F(DnsDiscoveryTest, OneNxdomainChangesNothing) {
  publish({0, 1});
  ASSERT_TRUE(start_sluice(dns_yaml()));
  EXPECT_TRUE(wait_for_backend("b", 3s));
  dns_.remove("_web._tcp.test");
  EXPECT_EQ(wait_metric("sluice_discovery_update_held{cluster=\"c\",source=\"dns\"}", 1, 4000ms),
            1);
  publish({0, 1});  // back before the confirm window ends
  EXPECT_EQ(wait_metric("sluice_discovery_update_held{cluster=\"c\",source=\"dns\"}", 0, 4000ms),
            0);
  std::this_thread::sleep_for(3s);
  EXPECT_TRUE(wait_for_backend("a", 1s));
  EXPECT_TRUE(wait_for_backend("b", 1s));
  EXPECT_EQ(scrape().get("sluice_discovery_updates_total{cluster=\"c\",source=\"dns\"}"), 1);
}

TEST_F(DnsDiscoveryTest, AFailingResolverKeepsTheLastAnswer) {
  publish({0, 1});
  ASSERT_TRUE(start_sluice(dns_yaml()));
  EXPECT_TRUE(wait_for_backend("b", 3s));
  dns_.set_mode(DnsTestServer::Mode::servfail);
  EXPECT_EQ(wait_metric("sluice_discovery_stale{cluster=\"c\",source=\"dns\"}", 1, 5000ms), 1);
  EXPECT_TRUE(wait_for_backend("a", 1s));
  EXPECT_TRUE(wait_for_backend("b", 1s));
  dns_.set_mode(DnsTestServer::Mode::answer);
  EXPECT_EQ(wait_metric("sluice_discovery_stale{cluster=\"c\",source=\"dns\"}", 0, 8000ms), 0);
  EXPECT_EQ(count_occurrences(sluice().stderr_text(), "dns source failed"), 1u)
      << sluice().stderr_text();
}

}  // namespace
}  // namespace sluice::testing
