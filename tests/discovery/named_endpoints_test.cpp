// Host names in a cluster's static `endpoints` through the real binary: each name resolves
// through the DNS server given in the cluster's `dns:` map, follows its records (asked again
// when their TTL runs out), and a name that does not resolve never takes the literal
// addresses and other names down with it. The DNS server is tests/support's DnsTestServer.
#include "tests/discovery/discovery_fixture.hpp"
#include "tests/support/dns_test_server.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

class NamedEndpointsTest : public FileDiscoveryTest {
 protected:
  // Cluster `c` with these endpoints ("a.test:PORT" or literal addresses), resolved by dns_.
  std::string named_yaml(const std::string& endpoints) {
    return "workers: 1\n" + admin_yaml() +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    routes: [ { name: all, match: { path_prefix: / }, cluster: c } ]\n"
           "clusters:\n"
           "  - name: c\n"
           "    endpoints: [" +
           endpoints +
           "]\n"
           "    dns: { resolvers: [" +
           dns_.address() + "], min_ttl: 1s, negative_ttl: 1s, timeout: 500ms }\n";
  }
  // "{ address: b.test:PORT }" for backend i (its port, a name of our choosing).
  std::string named(size_t i, const std::string& host) {
    return "{ address: " + host + ":" + std::to_string(backends_[i].port) + " }";
  }
  DnsTestServer dns_;
};

TEST_F(NamedEndpointsTest, NamesResolveAndFollowTheirRecords) {
  dns_.set("a.test", dns_type::a, {"127.0.0.1"}, 1);
  // b.test does not exist yet: the cluster starts with a alone.
  ASSERT_TRUE(start_sluice(named_yaml(named(0, "a.test") + ", " + named(1, "b.test"))));
  EXPECT_TRUE(wait_for_backend("a", 3s));
  EXPECT_EQ(wait_published(1), 1u);
  dns_.set("b.test", dns_type::a, {"127.0.0.1"}, 1);
  EXPECT_TRUE(wait_for_backend("b", 4s));  // asked again after the 1 s negative TTL
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_discovery_endpoints{cluster=\"c\",source=\"dns\"}"), 2);
  EXPECT_EQ(m.get("sluice_discovery_stale{cluster=\"c\",source=\"dns\"}"), 0);
  // /config shows the endpoints as written, /clusters what they resolved to.
  EXPECT_NE(admin("GET", "/config").body.find("b.test:"), std::string::npos);
  EXPECT_NE(admin("GET", "/clusters").body.find(backends_[1].address()), std::string::npos);
}

TEST_F(NamedEndpointsTest, AFailingResolverLeavesTheLiteralAddressesServing) {
  dns_.set_mode(DnsTestServer::Mode::servfail);
  ASSERT_TRUE(start_sluice(
      named_yaml(named(0, "a.test") + ", { address: " + backends_[2].address() + " }")));
  EXPECT_TRUE(wait_for_backend("c", 3s));
  EXPECT_EQ(wait_metric("sluice_discovery_stale{cluster=\"c\",source=\"dns\"}", 1, 3000ms), 1);
  dns_.set("a.test", dns_type::a, {"127.0.0.1"}, 1);
  dns_.set_mode(DnsTestServer::Mode::answer);
  EXPECT_TRUE(wait_for_backend("a", 8s));  // retried after a 1 s back-off, then 2 s, ...
  EXPECT_EQ(wait_metric("sluice_discovery_stale{cluster=\"c\",source=\"dns\"}", 0, 3000ms), 0);
}

TEST_F(NamedEndpointsTest, ValidateAcceptsNamesWithoutResolvingThem) {
  const std::string path = dir_.file("named.yaml");
  std::ofstream(path) << named_yaml(named(0, "nowhere.invalid"));
  Process validate =
      Process::spawn({obs_sluice_binary(), "--validate", path}, dir_.path(), "validate");
  const ExitStatus status = validate.wait(10s);
  EXPECT_TRUE(status.success()) << status.to_string() << validate.stderr_text();
}

}  // namespace
}  // namespace sluice::testing
