// Reloads keep rate-limit state for names that stay (issue #13, item 4): a new rate converts
// every client's state to it (an exhausted client stays exhausted, a window keeps its counts),
// while a new key or algorithm starts afresh and the reload log says which limit and why.
// Reloads go through SIGHUP; each test waits for the reload's log line. Rates are per minute so
// nothing refills meaningfully while a test runs.
#include <signal.h>

#include <thread>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class LimitReloadTest : public PolicyTest {
 protected:
  void SetUp() override { add_http_backend("b0"); }

  // One http listener, one route under limit `rl` (`limit_body`: its fields), plus `extra`.
  std::string yaml(uint16_t port, const std::string& limit_body, const std::string& extra = "") {
    return limited_route_yaml(port, "rl", backends_.at(0).address()) + "  - name: rl\n" +
           limit_body + extra;
  }

  // Rewrites sluice 0's config, sends SIGHUP and waits until the reload took effect.
  void reload(const std::string& yaml) {
    const size_t before = count_occurrences(sluice().stderr_text(), "configuration reloaded");
    dir_.write("sluice-0.yaml", yaml);
    ASSERT_EQ(::kill(sluice().pid(), SIGHUP), 0);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (count_occurrences(sluice().stderr_text(), "configuration reloaded") == before) {
      ASSERT_EQ(sluice().stderr_text().find("reload failed"), std::string::npos)
          << sluice().describe();
      ASSERT_LT(Clock::now(), deadline) << "no reload\n" << sluice().describe();
      std::this_thread::sleep_for(Millis(10));
    }
  }

  // Statuses of `n` requests from one client address.
  static std::vector<int> statuses(HttpClient& client, int n, const std::string& headers = "") {
    std::vector<int> out;
    for (int i = 0; i < n; ++i) out.push_back(client.get("/", headers).status);
    return out;
  }
  static std::vector<int> codes(int ok, int limited) {
    std::vector<int> v(static_cast<size_t>(ok), 200);
    v.insert(v.end(), static_cast<size_t>(limited), 429);
    return v;
  }
};

// The probe from the issue: 10/min -> 11/min used to refill every bucket.
TEST_F(LimitReloadTest, NewRateKeepsAnExhaustedClientExhausted) {
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(yaml(port, "    key: client_ip\n    rate: 10/min\n")), 0);
  HttpClient spent(port, "127.0.0.2");
  HttpClient half(port, "127.0.0.3");
  ASSERT_EQ(statuses(spent, 11), codes(10, 1));
  ASSERT_EQ(statuses(half, 4), codes(4, 0));

  reload(yaml(port, "    key: client_ip\n    rate: 11/min\n"));
  EXPECT_EQ(statuses(spent, 3), codes(0, 3)) << "the reload refilled an exhausted bucket";
  EXPECT_EQ(statuses(half, 8), codes(6, 2)) << "6 tokens left before the reload, 6 after";
  HttpClient fresh(port, "127.0.0.4");
  EXPECT_EQ(statuses(fresh, 12), codes(11, 1)) << "a new client gets the new burst";
  const std::string log = sluice().stderr_text();
  EXPECT_NE(log.find("rate limit 'rl': new parameters"), std::string::npos) << log;
  EXPECT_EQ(log.find("state reset"), std::string::npos) << log;
}

TEST_F(LimitReloadTest, SlidingWindowKeepsItsCountsUnderANewLimit) {
  const uint16_t port = free_loopback_port();
  const std::string window = "    key: client_ip\n    algorithm: sliding_window\n";
  ASSERT_GE(start_sluice(yaml(port, window + "    rate: 5/min\n")), 0);
  HttpClient client(port, "127.0.0.2");
  ASSERT_EQ(statuses(client, 6), codes(5, 1));
  reload(yaml(port, window + "    rate: 7/min\n"));
  EXPECT_EQ(statuses(client, 4), codes(2, 2)) << "5 counted of the new 7";
}

// A new key counts other clients: the state starts afresh, and the log says so and why. So
// does a new algorithm. Neither changes what the reload answers.
TEST_F(LimitReloadTest, NewKeyOrAlgorithmStartsAfreshAndTheLogSaysWhy) {
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(yaml(port, "    key: client_ip\n    rate: 1/min\n    burst: 3\n")), 0);
  HttpClient client(port, "127.0.0.2");
  const std::string alpha = "X-Api-Key: alpha\r\n";
  ASSERT_EQ(statuses(client, 4, alpha), codes(3, 1));

  reload(yaml(port, "    key: \"header:X-Api-Key\"\n    rate: 1/min\n    burst: 3\n"));
  EXPECT_EQ(statuses(client, 4, alpha), codes(3, 1));
  std::string log = sluice().stderr_text();
  EXPECT_NE(log.find("rate limit 'rl': state reset: key changed from client_ip to "
                     "header:X-Api-Key"),
            std::string::npos)
      << log;

  reload(yaml(port,
              "    key: \"header:X-Api-Key\"\n    algorithm: sliding_window\n"
              "    rate: 2/min\n"));
  EXPECT_EQ(statuses(client, 3, alpha), codes(2, 1));
  log = sluice().stderr_text();
  EXPECT_NE(log.find("rate limit 'rl': state reset: algorithm changed from token_bucket to "
                     "sliding_window"),
            std::string::npos)
      << log;
  EXPECT_EQ(count_occurrences(log, "state reset"), 2u) << log;
}

// A global limit's state is its Redis bucket and the leased tokens: a new rate keeps both, and
// the limiter stays healthy (on_error allow must not open it up while it re-learns Redis).
TEST_F(LimitReloadTest, GlobalLimitKeepsItsBucketUnderANewRate) {
  if (RedisProcess::binary().empty()) GTEST_SKIP() << "redis-server is not installed";
  RedisProcess redis(dir_);
  const uint16_t port = free_loopback_port();
  auto config = [&](const std::string& rate) {
    return yaml(port, "    key: global\n    rate: " + rate + "\n    burst: 5\n    scope: global\n",
                "redis: { address: " + redis.address() +
                    ", sync_interval: 50ms, timeout: 1s, on_error: allow }\n");
  };
  ASSERT_GE(start_sluice(config("1/min")), 0);
  std::this_thread::sleep_for(Millis(300));  // the first exchange
  HttpClient client(port);
  // Leases come one interval of the rate at a time: spend the 5 over a second.
  int admitted = 0;
  for (int i = 0; i < 50; ++i, std::this_thread::sleep_for(Millis(20)))
    admitted += client.get("/").status == 200;
  ASSERT_EQ(admitted, 5);

  reload(config("2/min"));
  admitted = 0;
  for (int i = 0; i < 25; ++i, std::this_thread::sleep_for(Millis(20)))
    admitted += client.get("/").status == 200;
  EXPECT_EQ(admitted, 0) << "the reload refilled the global bucket or opened the limit";
  EXPECT_NE(sluice().stderr_text().find("rate limit 'rl': new parameters; its Redis bucket"),
            std::string::npos)
      << sluice().stderr_text();
}

// Issue #14's shapes follow: a fixed window keeps its count (an hour long, so no boundary falls
// inside the test), a leaky bucket its backlog when its queue grows.
TEST_F(LimitReloadTest, FixedWindowKeepsItsCountUnderANewLimit) {
  const uint16_t port = free_loopback_port();
  const std::string window = "    key: client_ip\n    algorithm: fixed_window\n";
  ASSERT_GE(start_sluice(yaml(port, window + "    rate: 5/h\n")), 0);
  HttpClient client(port, "127.0.0.2");
  ASSERT_EQ(statuses(client, 6), codes(5, 1));
  reload(yaml(port, window + "    rate: 7/h\n"));
  EXPECT_EQ(statuses(client, 4), codes(2, 2)) << "5 counted of the new 7";
}

// A request that waits for its slot: sent, never read. True when no answer came in `wait`.
bool waits(const Socket& s, Millis wait = Millis(300)) {
  return recv_until_eof(s, wait).data.empty();
}

TEST_F(LimitReloadTest, LeakyBucketKeepsItsBacklogWhenTheQueueGrows) {
  const uint16_t port = free_loopback_port();
  const std::string shape = "    key: client_ip\n    algorithm: leaky_bucket\n    rate: 1/min\n";
  ASSERT_GE(start_sluice(yaml(port, shape + "    queue: 1\n")), 0);
  auto send_request = [&] {
    Socket s = connect_loopback(port, Millis(5000));
    EXPECT_TRUE(send_all(s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", Millis(5000)));
    return s;
  };
  HttpClient client(port);
  ASSERT_EQ(client.get("/").status, 200);
  Socket first = send_request();  // waits a minute for its slot
  EXPECT_TRUE(waits(first));
  EXPECT_EQ(client.get("/").status, 429) << "queue of 1 full";
  reload(yaml(port, shape + "    queue: 3\n"));
  // The backlog of 2 stayed: two more places in the new queue of 3, not three (or an empty
  // bucket letting one through at once).
  Socket second = send_request(), third = send_request();
  EXPECT_TRUE(waits(second));
  EXPECT_TRUE(waits(third));
  EXPECT_EQ(client.get("/").status, 429);
  EXPECT_TRUE(waits(first, Millis(10))) << "the request queued before the reload still waits";
}

}  // namespace
}  // namespace sluice::testing
