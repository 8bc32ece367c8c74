// The etcd discovery source against a real etcd on loopback: list, watch, bursts, compaction,
// a killed, a silent and a restarted server, bad values, a second endpoint.
#include "proxy/control/discovery/etcd_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "config/scalars.hpp"
#include "tests/control/discovery/etcd_server.hpp"
#include "tests/control/discovery/recording_sink.hpp"
#include "tests/support/socket.hpp"

namespace sluice::proxy::discovery {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::string value(int last_octet, int port = 8080, int weight = 1) {
  return R"({"address": "10.0.0.)" + std::to_string(last_octet) + R"(", "port": )" +
         std::to_string(port) + R"(, "weight": )" + std::to_string(weight) +
         R"(, "metadata": {"zone": "a"}})";
}

class EtcdSourceTest : public ::testing::Test {
 protected:
  EtcdSourceTest() : etcd_(dir_) {}

  EtcdOptions options(milliseconds watchdog = milliseconds(10000)) {
    EtcdOptions o;
    o.endpoints = {*config::parse_address(etcd_.address()).value};
    o.prefix = "/services/api/";
    o.timeout = std::min(milliseconds(1000), watchdog);
    o.watchdog = watchdog;
    o.retry_initial = milliseconds(50);
    o.retry_max = milliseconds(200);
    o.warn = [this](const std::string& line) { warnings_.push_back(line); };
    return o;
  }
  bool run_until(const std::function<bool()>& done, milliseconds timeout = milliseconds(5000)) {
    return discovery::run_until(loop_, done, timeout);
  }
  bool has(const std::string& address) {
    const auto a = sink_.addresses();
    return std::find(a.begin(), a.end(), address) != a.end();
  }

  testing::TempDir dir_{"etcd-source"};
  testing::EtcdServer etcd_;
  control::ControlLoop loop_;
  RecordingSink sink_;
  std::vector<std::string> warnings_;
};

TEST_F(EtcdSourceTest, ListsThenFollowsPutsAndDeletes) {
  etcd_.put("/services/api/a", value(1));
  const int64_t listed = etcd_.put("/services/api/b", value(2, 9090, 3));
  etcd_.put("/services/other/c", value(3));  // outside the prefix
  EtcdSource source(loop_, sink_, options());
  source.start();
  ASSERT_TRUE(run_until([&] { return !sink_.deliveries.empty(); }))
      << ::testing::PrintToString(sink_.failures);
  EXPECT_THAT(sink_.addresses(), ElementsAre("10.0.0.1:8080", "10.0.0.2:9090"));
  EXPECT_EQ(sink_.deliveries.back().set[1].weight, 3u);
  EXPECT_EQ(sink_.version(), "revision " + std::to_string(listed + 1));

  const int64_t added = etcd_.put("/services/api/d", value(4));
  ASSERT_TRUE(run_until([&] { return has("10.0.0.4:8080"); }));
  EXPECT_EQ(sink_.version(), "revision " + std::to_string(added));
  etcd_.remove("/services/api/a");
  ASSERT_TRUE(run_until([&] { return !has("10.0.0.1:8080"); }));
  EXPECT_THAT(sink_.addresses(), ElementsAre("10.0.0.2:9090", "10.0.0.4:8080"));
  EXPECT_EQ(source.counters().lists, 1u);
  EXPECT_TRUE(sink_.failures.empty());
  EXPECT_EQ(source.describe(), "etcd /services/api/ at " + etcd_.address());
}

TEST_F(EtcdSourceTest, ThousandPutsEndInTheExactFinalSet) {
  EtcdSource source(loop_, sink_, options());
  source.start();
  ASSERT_TRUE(run_until([&] { return !sink_.deliveries.empty(); }));
  // 1000 puts over 250 keys: every key is rewritten, its last weight is the one that counts.
  std::atomic<int64_t> last{0};
  std::thread writer([&] {
    for (int i = 0; i < 1000; ++i)
      last =
          etcd_.put("/services/api/k" + std::to_string(i % 250), value(i % 250, 8000, i / 250 + 1));
  });
  run_until([&] { return last != 0 && sink_.version() == "revision " + std::to_string(last); },
            milliseconds(25000));
  writer.join();
  ASSERT_TRUE(run_until([&] { return sink_.version() == "revision " + std::to_string(last); }))
      << sink_.version() << ", last put at revision " << last;
  const auto& set = sink_.deliveries.back().set;
  ASSERT_EQ(set.size(), 250u);
  for (const auto& e : set) EXPECT_EQ(e.weight, 4u) << e.address;
  EXPECT_EQ(source.counters().lists, 1u);
  // Events read together are delivered together; printed to show how much was batched.
  std::printf("[ info ] 1000 puts -> %zu deliveries\n", sink_.deliveries.size() - 1);
  EXPECT_LE(sink_.deliveries.size(), 1001u);
}

TEST_F(EtcdSourceTest, CompactedRevisionMeansOneRelist) {
  etcd_.put("/services/api/a", value(1));
  EtcdSource source(loop_, sink_, options());
  source.start();
  ASSERT_TRUE(run_until([&] { return source.counters().watches == 1; }));
  // While the loop does not run, etcd restarts, changes and compacts past the watched revision.
  etcd_.kill();
  etcd_.start();
  etcd_.put("/services/api/b", value(2));
  etcd_.remove("/services/api/a");
  etcd_.compact(etcd_.revision());
  ASSERT_TRUE(run_until([&] { return source.counters().lists == 2 && has("10.0.0.2:8080"); }));
  EXPECT_THAT(sink_.addresses(), ElementsAre("10.0.0.2:8080"));
  EXPECT_EQ(source.counters().compactions, 1u);
  EXPECT_TRUE(sink_.failures.empty()) << sink_.failures.front();
  // And watches again from the list's revision.
  etcd_.put("/services/api/c", value(3));
  ASSERT_TRUE(run_until([&] { return has("10.0.0.3:8080"); }));
  EXPECT_EQ(source.counters().lists, 2u);
}

TEST_F(EtcdSourceTest, KilledServerFailsThenRestartResumesWithoutRelisting) {
  etcd_.put("/services/api/a", value(1));
  EtcdSource source(loop_, sink_, options(milliseconds(3000)));
  source.start();
  ASSERT_TRUE(run_until([&] { return source.counters().watches == 1; }));
  const size_t delivered = sink_.deliveries.size();
  const auto killed = Clock::now();
  etcd_.kill();
  ASSERT_TRUE(run_until([&] { return !sink_.failures.empty(); }, milliseconds(3000)));
  EXPECT_LT(Clock::now() - killed, milliseconds(3000));
  EXPECT_THAT(sink_.failures.front(), HasSubstr(etcd_.address()));
  EXPECT_EQ(sink_.deliveries.size(), delivered);  // nothing said about the set meanwhile
  // Down for a while: retries keep failing with back-off, the set is never touched.
  run_until([] { return false; }, milliseconds(1000));
  EXPECT_EQ(sink_.deliveries.size(), delivered);

  etcd_.start();
  const int64_t added = etcd_.put("/services/api/b", value(2));
  ASSERT_TRUE(run_until([&] { return has("10.0.0.2:8080"); }, milliseconds(5000)));
  EXPECT_EQ(sink_.version(), "revision " + std::to_string(added));
  EXPECT_EQ(source.counters().lists, 1u);  // resumed from the revision, no full list
  EXPECT_GE(source.counters().watches, 2u);
}

TEST_F(EtcdSourceTest, SilentServerTripsTheWatchdog) {
  etcd_.put("/services/api/a", value(1));
  EtcdSource source(loop_, sink_, options(milliseconds(2000)));
  source.start();
  ASSERT_TRUE(run_until([&] { return source.counters().watches == 1; }));
  const auto stopped = Clock::now();
  etcd_.pause();
  ASSERT_TRUE(run_until([&] { return !sink_.failures.empty(); }, milliseconds(4000)));
  const auto noticed = Clock::now() - stopped;
  EXPECT_GE(noticed, milliseconds(900));  // a probe gets half the watchdog to answer
  // Within the watchdog: a quarter to the first probe, up to a quarter more to the tick, a
  // half for the probe; the rest is slack for a loaded machine.
  EXPECT_LE(noticed, milliseconds(2500));
  EXPECT_GE(source.counters().probes, 1u);
  EXPECT_EQ(sink_.deliveries.size(), 1u);

  etcd_.resume();
  // The watch comes back and says the set still stands, which ends the staleness.
  ASSERT_TRUE(run_until([&] { return sink_.deliveries.size() == 2; }, milliseconds(5000)));
  EXPECT_THAT(sink_.addresses(), ElementsAre("10.0.0.1:8080"));
  EXPECT_EQ(source.counters().lists, 1u);
}

TEST_F(EtcdSourceTest, BadValuesAreSkippedAndReportedOnce) {
  etcd_.put("/services/api/a", value(1));
  etcd_.put("/services/api/b", "not json");
  etcd_.put("/services/api/c", R"({"address": "api.internal", "port": 80})");
  etcd_.put("/services/api/d", R"({"address": "10.0.0.4:8080", "weight": 0})");
  EtcdSource source(loop_, sink_, options());
  source.start();
  ASSERT_TRUE(run_until([&] { return !sink_.deliveries.empty(); }));
  EXPECT_THAT(sink_.addresses(), ElementsAre("10.0.0.1:8080"));
  ASSERT_EQ(warnings_.size(), 3u);
  EXPECT_THAT(warnings_[0], HasSubstr("etcd key /services/api/b"));
  EXPECT_THAT(warnings_[1], HasSubstr("not an IP address"));
  EXPECT_THAT(warnings_[2], HasSubstr("weight"));
  etcd_.put("/services/api/e", R"({"address": "[2001:db8::5]:80"})");
  ASSERT_TRUE(run_until([&] { return has("[2001:db8::5]:80"); }));
  EXPECT_EQ(warnings_.size(), 3u);         // the bad ones are not reported again
  etcd_.put("/services/api/b", value(2));  // fixed
  ASSERT_TRUE(run_until([&] { return has("10.0.0.2:8080"); }));
  EXPECT_TRUE(sink_.failures.empty());
}

TEST_F(EtcdSourceTest, TriesTheNextEndpoint) {
  uint16_t refused = 0;
  testing::Socket hold = testing::reserve_refusing_port(&refused);
  etcd_.put("/services/api/a", value(1));
  EtcdOptions o = options();
  o.endpoints.insert(o.endpoints.begin(),
                     *config::parse_address(testing::loopback_address(refused)).value);
  EtcdSource source(loop_, sink_, o);
  source.start();
  ASSERT_TRUE(run_until([&] { return !sink_.deliveries.empty(); }));
  EXPECT_THAT(sink_.addresses(), ElementsAre("10.0.0.1:8080"));
  ASSERT_EQ(sink_.failures.size(), 1u);
  EXPECT_THAT(sink_.failures[0], HasSubstr(testing::loopback_address(refused)));
}

}  // namespace
}  // namespace sluice::proxy::discovery
