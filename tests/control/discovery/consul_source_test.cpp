// The Consul discovery source against sluice-fake-consul (tests/support/fake_consul.cpp, a
// stand-in written from Consul's blocking-query docs; Consul is not in Debian).
#include "proxy/control/discovery/consul_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <optional>

#include "config/scalars.hpp"
#include "tests/control/discovery/blocking_http.hpp"
#include "tests/control/discovery/recording_sink.hpp"
#include "tests/support/process.hpp"
#include "tests/support/socket.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::proxy::discovery {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// One instance as Consul's /v1/health/service answers it.
json::value instance(const std::string& id, const std::string& service_address,
                     const std::string& node_address, int port, int weight = 1,
                     const std::string& status = "passing", std::vector<std::string> tags = {}) {
  json::array tag_list(tags.begin(), tags.end());
  return json::object{
      {"Node",
       json::object{{"Node", "node-" + id}, {"Address", node_address}, {"Datacenter", "dc1"}}},
      {"Service", json::object{{"ID", id},
                               {"Service", "api"},
                               {"Tags", std::move(tag_list)},
                               {"Address", service_address},
                               {"Port", port},
                               {"Weights", json::object{{"Passing", weight}, {"Warning", 1}}}}},
      {"Checks", json::array{json::object{{"CheckID", "serfHealth"}, {"Status", "passing"}},
                             json::object{{"CheckID", "service:" + id}, {"Status", status}}}}};
}

class ConsulSourceTest : public ::testing::Test {
 protected:
  ConsulSourceTest() { start_consul("127.0.0.1:0"); }

  void start_consul(const std::string& listen) {
    consul_ = testing::Process::spawn({SLUICE_FAKE_CONSUL_PATH, "--listen", listen}, dir_.path(),
                                      "fake-consul");
    auto port = consul_->wait_listening(milliseconds(5000));
    ASSERT_TRUE(port) << consul_->describe();
    port_ = *port;
  }
  void set_service(const std::string& name, json::array instances) {
    ASSERT_EQ(testing::http_call(port_, "PUT", "/fake/service/" + name, json::serialize(instances))
                  .status,
              200u);
  }
  std::vector<std::string> queries() {
    std::vector<std::string> out;
    std::string all = testing::http_call(port_, "GET", "/fake/queries").body;
    for (size_t at = 0, end; (end = all.find('\n', at)) != std::string::npos; at = end + 1)
      out.push_back(all.substr(at, end - at));
    return out;
  }
  ConsulOptions options() {
    ConsulOptions o;
    o.address = *config::parse_address(testing::loopback_address(port_)).value;
    o.query.service = "api";
    o.wait = milliseconds(30000);
    o.timeout = milliseconds(1000);
    o.min_interval = milliseconds(100);
    o.retry_initial = milliseconds(50);
    o.retry_max = milliseconds(200);
    o.warn = [this](const std::string& line) { warnings_.push_back(line); };
    return o;
  }
  bool run_until(const std::function<bool()>& done, milliseconds timeout = milliseconds(5000)) {
    return discovery::run_until(loop_, done, timeout);
  }
  // The source has a blocking query waiting at the fake (sent with an index).
  bool blocked() {
    const auto q = queries();
    return !q.empty() && q.back().find("&index=") != std::string::npos;
  }
  bool wait_blocked() {
    return run_until([&] {
      loop_.run_once(milliseconds(30));
      return blocked();
    });
  }

  testing::TempDir dir_{"consul-source"};
  std::optional<testing::Process> consul_;
  uint16_t port_ = 0;
  control::ControlLoop loop_;
  RecordingSink sink_;
  std::vector<std::string> warnings_;
};

TEST_F(ConsulSourceTest, PassingInstancesWithTheirAddressAndWeight) {
  set_service("api", json::array{instance("a", "10.0.0.1", "10.9.9.1", 80, 3),
                                 instance("b", "", "10.0.1.2", 81),
                                 instance("c", "10.0.0.3", "10.9.9.3", 82, 1, "critical"),
                                 instance("d", "api-d.internal", "10.9.9.4", 83)});
  set_service("other", json::array{instance("x", "10.0.0.9", "10.9.9.9", 80)});
  ConsulSource source(loop_, sink_, options());
  source.start();
  ASSERT_TRUE(run_until([&] { return !sink_.deliveries.empty(); }));
  EXPECT_THAT(sink_.addresses(), ElementsAre("10.0.0.1:80", "10.0.1.2:81"));
  EXPECT_EQ(sink_.deliveries[0].set[0].weight, 3u);
  EXPECT_EQ(sink_.version(), "index 3");
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_THAT(warnings_[0], HasSubstr("instance d: address 'api-d.internal' is not an IP address"));
  EXPECT_EQ(source.describe(), "consul service api at " + testing::loopback_address(port_));
  EXPECT_THAT(queries().front(), "/v1/health/service/api?passing=1");
}

TEST_F(ConsulSourceTest, BlockingQueryWakesOnChange) {
  set_service("api", json::array{instance("a", "10.0.0.1", "", 80)});
  ConsulSource source(loop_, sink_, options());
  source.start();
  ASSERT_TRUE(run_until([&] { return !sink_.deliveries.empty(); }));
  ASSERT_TRUE(wait_blocked());
  EXPECT_EQ(queries().back(), "/v1/health/service/api?passing=1&index=2&wait=30s");
  const auto changed = Clock::now();
  set_service("api",
              json::array{instance("a", "10.0.0.1", "", 80), instance("b", "10.0.0.2", "", 80)});
  ASSERT_TRUE(run_until([&] { return sink_.deliveries.size() == 2; }));
  EXPECT_LT(Clock::now() - changed, milliseconds(1000));  // woken, not the 30 s wait
  EXPECT_THAT(sink_.addresses(), ElementsAre("10.0.0.1:80", "10.0.0.2:80"));
  EXPECT_EQ(sink_.version(), "index 3");
  // A wake-up that changes nothing in this service is not delivered again.
  set_service("other", json::array{instance("x", "10.0.0.9", "", 80)});
  ASSERT_TRUE(run_until([&] { return source.index() == 4; }));
  EXPECT_EQ(sink_.deliveries.size(), 2u);
  EXPECT_TRUE(sink_.failures.empty());
}

TEST_F(ConsulSourceTest, IndexGoingBackwardsStartsOver) {
  set_service("api", json::array{instance("a", "10.0.0.1", "", 80)});
  set_service("api", json::array{instance("a", "10.0.0.1", "", 80)});
  ConsulSource source(loop_, sink_, options());
  source.start();
  ASSERT_TRUE(run_until([&] { return !sink_.deliveries.empty(); }));
  ASSERT_TRUE(wait_blocked());
  EXPECT_EQ(source.index(), 3u);
  // A restored snapshot: the index is lower than the one the source waits on.
  ASSERT_EQ(testing::http_call(port_, "PUT", "/fake/index", "1").status, 200u);
  ASSERT_TRUE(run_until([&] { return source.counters().index_resets == 1; }));
  ASSERT_TRUE(run_until(
      [&] { return queries().back() == "/v1/health/service/api?passing=1&index=1&wait=30s"; }));
  const auto q = queries();
  ASSERT_GE(q.size(), 3u);
  // After the backwards answer, one query without an index, then blocking on the new one.
  EXPECT_EQ(q[q.size() - 2], "/v1/health/service/api?passing=1");
  EXPECT_EQ(source.counters().index_resets, 1u);
  EXPECT_EQ(sink_.deliveries.size(), 1u);  // the set did not change
}

TEST_F(ConsulSourceTest, IndexThatNeverBlocksIsRateLimited) {
  set_service("api", json::array{instance("a", "10.0.0.1", "", 80)});
  ASSERT_EQ(testing::http_call(port_, "PUT", "/fake/index", "0").status, 200u);  // no header
  ConsulOptions o = options();
  o.min_interval = milliseconds(200);
  ConsulSource source(loop_, sink_, o);
  source.start();
  run_until([] { return false; }, milliseconds(1000));
  // Without the limit this would be thousands of queries a second.
  EXPECT_GE(source.counters().queries, 3u);
  EXPECT_LE(source.counters().queries, 7u);
  EXPECT_EQ(source.counters().index_resets, source.counters().queries);
  EXPECT_EQ(sink_.deliveries.size(), 1u);
  EXPECT_EQ(sink_.version(), "index none");
}

TEST_F(ConsulSourceTest, TagAndDatacenter) {
  set_service("api", json::array{instance("a", "10.0.0.1", "", 80, 1, "passing", {"v1"}),
                                 instance("b", "10.0.0.2", "", 80, 1, "passing", {"v2", "eu"})});
  ConsulOptions o = options();
  o.query.tag = "v2";
  ConsulSource tagged(loop_, sink_, o);
  tagged.start();
  ASSERT_TRUE(run_until([&] { return !sink_.deliveries.empty(); }));
  EXPECT_THAT(sink_.addresses(), ElementsAre("10.0.0.2:80"));

  RecordingSink elsewhere;
  o.query.datacenter = "dc2";
  ConsulSource remote(loop_, elsewhere, o);
  remote.start();
  ASSERT_TRUE(run_until([&] { return !elsewhere.failures.empty(); }));
  EXPECT_THAT(elsewhere.failures[0], HasSubstr("HTTP 500 No path to datacenter"));
  EXPECT_TRUE(elsewhere.deliveries.empty());
}

TEST_F(ConsulSourceTest, AgentDownFailsAndRecovers) {
  set_service("api", json::array{instance("a", "10.0.0.1", "", 80)});
  ConsulSource source(loop_, sink_, options());
  source.start();
  ASSERT_TRUE(run_until([&] { return !sink_.deliveries.empty(); }));
  ASSERT_TRUE(wait_blocked());
  const auto killed = Clock::now();
  ::kill(consul_->pid(), SIGKILL);
  consul_->wait(milliseconds(5000));
  ASSERT_TRUE(run_until([&] { return !sink_.failures.empty(); }, milliseconds(2000)));
  EXPECT_LT(Clock::now() - killed, milliseconds(1000));
  EXPECT_THAT(sink_.failures[0], HasSubstr(testing::loopback_address(port_)));
  // A new agent on the same port: lower index, same set; delivered to end the staleness.
  start_consul(testing::loopback_address(port_));
  set_service("api", json::array{instance("a", "10.0.0.1", "", 80)});
  ASSERT_TRUE(run_until([&] { return sink_.deliveries.size() == 2; }));
  EXPECT_THAT(sink_.addresses(), ElementsAre("10.0.0.1:80"));
}

TEST_F(ConsulSourceTest, SilentAgentFailsAfterWaitAndTimeout) {
  set_service("api", json::array{instance("a", "10.0.0.1", "", 80)});
  ConsulOptions o = options();
  o.wait = milliseconds(1000);
  o.timeout = milliseconds(500);
  ConsulSource source(loop_, sink_, o);
  source.start();
  ASSERT_TRUE(run_until([&] { return !sink_.deliveries.empty(); }));
  ASSERT_TRUE(wait_blocked());
  const auto stopped = Clock::now();
  ::kill(consul_->pid(), SIGSTOP);
  ASSERT_TRUE(run_until([&] { return !sink_.failures.empty(); }, milliseconds(4000)));
  ::kill(consul_->pid(), SIGCONT);
  // wait + wait/16 + timeout after the query was sent, which was before the stop.
  EXPECT_LE(Clock::now() - stopped, milliseconds(1900));
  EXPECT_THAT(sink_.failures[0], HasSubstr("no response"));
}

}  // namespace
}  // namespace sluice::proxy::discovery
