// The DNS discovery source against a real DNS server: dnsmasq, started by the test on a free
// loopback port with its records on the command line and in a watched hosts directory.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "config/scalars.hpp"
#include "proxy/control/discovery/dns_source.hpp"
#include "tests/control/dns_test_support.hpp"
#include "tests/support/process.hpp"
#include "tests/support/socket.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::proxy::discovery {
namespace {

class DnsmasqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::mkdir(dir.file("hosts").c_str(), 0755);
    dir.write("hosts/moving", "127.0.0.31 moving.test\n");
    port = testing::free_loopback_port();
    // dnsmasq started as root drops to "nobody", which could not read the temp dir.
    const std::string user = ::getpwuid(::geteuid())->pw_name;
    const std::string group = ::getgrgid(::getegid())->gr_name;
    server = testing::Process::spawn(
        {"/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
         "--no-hosts", "--port=" + std::to_string(port), "--listen-address=127.0.0.1",
         "--bind-interfaces", "--pid-file=", "--user=" + user, "--group=" + group,
         "--log-facility=-",
         // Unknown names under test. are NXDOMAIN, not "REFUSED: no upstream server".
         "--local=/test/", "--local-ttl=1", "--hostsdir=" + dir.file("hosts"),
         "--host-record=web.test,127.0.0.11,fd00::11,30", "--host-record=web.test,127.0.0.12,30",
         "--host-record=v4only.test,127.0.0.13,30", "--host-record=one.test,127.0.0.21,30",
         "--host-record=two.test,127.0.0.22,30", "--host-record=backup.test,127.0.0.29,30",
         "--srv-host=_api._tcp.test,one.test,8081,1,10",
         "--srv-host=_api._tcp.test,two.test,8082,1,0",
         "--srv-host=_api._tcp.test,backup.test,9000,2,5"},
        dir.path(), "dnsmasq");
    ASSERT_TRUE(ready()) << server.describe();
  }

  DnsSourceOptions options(std::string name, DnsSourceOptions::Type type, uint16_t source_port) {
    DnsSourceOptions o;
    o.name = std::move(name);
    o.type = type;
    o.port = source_port;
    o.resolver.servers = {config::parse_address("127.0.0.1:" + std::to_string(port)).value.value()};
    o.resolver.timeout = milliseconds(200);
    o.min_ttl = milliseconds(100);
    o.negative_ttl = milliseconds(200);
    o.first_backoff = milliseconds(50);
    return o;
  }

  // The first answer of a fresh source for `name`.
  RecordingSink::Event first_answer(DnsSourceOptions o) {
    RecordingSink sink;
    DnsSource source(loop, std::move(o), sink);
    source.start();
    EXPECT_TRUE(run_until_events(loop, sink, 0)) << server.describe();
    return sink.events.empty() ? RecordingSink::Event{} : sink.events[0];
  }

  // dnsmasq answers (anything) over UDP: it is up.
  bool ready() {
    const auto deadline = Clock::now() + milliseconds(5000);
    while (Clock::now() < deadline && server.running()) {
      auto event = first_answer(options("web.test", DnsSourceOptions::Type::a, 80));
      if (event.delivered) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

  testing::TempDir dir{"dnsmasq"};
  uint16_t port = 0;
  testing::Process server;
  control::ControlLoop loop;
};

TEST_F(DnsmasqTest, ARecords) {
  auto event = first_answer(options("web.test", DnsSourceOptions::Type::a, 8080));
  ASSERT_TRUE(event.delivered) << event.text;
  EXPECT_EQ(event.set, endpoints({"127.0.0.11:8080", "127.0.0.12:8080"}));
  EXPECT_EQ(event.text, "ttl 30 s");
}

TEST_F(DnsmasqTest, AaaaRecordsAndNodata) {
  auto event = first_answer(options("web.test", DnsSourceOptions::Type::aaaa, 8080));
  ASSERT_TRUE(event.delivered) << event.text;
  EXPECT_EQ(event.set, endpoints({"[fd00::11]:8080"}));
  event = first_answer(options("v4only.test", DnsSourceOptions::Type::aaaa, 8080));
  ASSERT_TRUE(event.delivered) << event.text;
  EXPECT_TRUE(event.set.empty());
  EXPECT_EQ(event.text, "NODATA, negative ttl 200 ms");
}

TEST_F(DnsmasqTest, SrvLowestPriorityGroup) {
  auto event = first_answer(options("_api._tcp.test", DnsSourceOptions::Type::srv, 0));
  ASSERT_TRUE(event.delivered) << event.text;
  EXPECT_EQ(event.set,
            (std::vector<DiscoveredEndpoint>{{"127.0.0.21:8081", 10}, {"127.0.0.22:8082", 1}}));
}

TEST_F(DnsmasqTest, NxdomainIsAnEmptySet) {
  auto event = first_answer(options("nope.test", DnsSourceOptions::Type::a, 80));
  ASSERT_TRUE(event.delivered) << event.text;
  EXPECT_TRUE(event.set.empty());
  EXPECT_EQ(event.text, "NXDOMAIN, negative ttl 200 ms");
}

TEST_F(DnsmasqTest, AChangeIsPickedUpAfterTheTtl) {
  RecordingSink sink;
  DnsSource source(loop, options("moving.test", DnsSourceOptions::Type::a, 80), sink);
  source.start();
  ASSERT_TRUE(run_until_events(loop, sink, 0));
  ASSERT_TRUE(sink.events[0].delivered) << sink.events[0].text;
  EXPECT_EQ(sink.events[0].set, endpoints({"127.0.0.31:80"}));
  EXPECT_EQ(sink.events[0].text, "ttl 1 s");  // --local-ttl
  // dnsmasq reads the hosts directory again when a file in it changes (inotify).
  dir.write("hosts/moving", "127.0.0.32 moving.test\n127.0.0.33 moving.test\n");
  ASSERT_TRUE(run_until(
      loop, [&] { return sink.events.back().set.size() == 2; }, milliseconds(5000)))
      << server.describe();
  EXPECT_EQ(sink.events.back().set, endpoints({"127.0.0.32:80", "127.0.0.33:80"}));
}

}  // namespace
}  // namespace sluice::proxy::discovery
