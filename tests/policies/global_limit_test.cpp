// Global (`scope: global`) rate limits end to end: several sluice processes
// lease tokens from one real redis-server. Heavy: three proxies, redis and the
// load generators share two cores for several seconds while rates are measured.
#include <atomic>
#include <thread>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class GlobalLimitTest : public PolicyTest {
 protected:
  void SetUp() override {
    if (RedisProcess::binary().empty()) GTEST_SKIP() << "redis-server is not installed";
    redis_.emplace(dir_);
    add_http_backend("b0");
  }

  std::string yaml(uint16_t port, const std::string& on_error, const std::string& key = "global") {
    return limited_route_yaml(port, "shared", backends_[0].address()) +
           "  - name: shared\n"
           "    key: " +
           key +
           "\n"
           "    rate: 50/s\n"
           "    burst: 50\n"
           "    scope: global\n"
           "redis: { address: " +
           redis_->address() + ", sync_interval: 50ms, timeout: 1s, on_error: " + on_error + " }\n";
  }

  struct Tally {
    std::atomic<int> admitted{0};
    std::atomic<int> limited{0};
    std::atomic<int> other{0};
    std::atomic<int64_t> slowest_us{0};
  };

  // Clients on every port, each paced at one request per `gap`, until `until`.
  void drive(const std::vector<uint16_t>& ports, int clients_per_port,
             std::chrono::microseconds gap, Clock::time_point until, Tally& tally,
             const std::string& headers = "") {
    std::vector<std::thread> threads;
    for (uint16_t port : ports) {
      for (int c = 0; c < clients_per_port; ++c) {
        threads.emplace_back([&, port] {
          HttpClient client(port);
          auto next = Clock::now();
          while (Clock::now() < until) {
            std::this_thread::sleep_until(next);
            next += gap;
            const auto t0 = Clock::now();
            HttpResponse r = client.get("/", headers, Millis(5000));
            const int64_t us =
                std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
            int64_t prev = tally.slowest_us.load();
            while (us > prev && !tally.slowest_us.compare_exchange_weak(prev, us)) {
            }
            if (r.status == 200) {
              ++tally.admitted;
            } else if (r.status == 429 && r.header("x-sluice-error") == "rate-limited") {
              ++tally.limited;
            } else {
              ++tally.other;
            }
          }
        });
      }
    }
    for (auto& t : threads) t.join();
  }

  std::optional<RedisProcess> redis_;
};

// Three instances, one 50/s limit with a burst of 50, all overloaded for 5 s:
// together they admit burst + rate × time, within 5%. Then Redis dies and
// `on_error: allow` keeps every instance admitting, promptly.
TEST_F(GlobalLimitTest, ThreeInstancesShareOneLimitThenFailOpen) {
  std::vector<uint16_t> ports;
  for (int i = 0; i < 3; ++i) {
    ports.push_back(free_loopback_port());
    ASSERT_GE(start_sluice(yaml(ports.back(), "allow")), 0);
  }
  // Let the bucket in Redis exist and be full (it refills to the burst in 1 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));

  Tally t;
  const auto start = Clock::now();
  // 3 × 2 clients at 200 requests/s each: 1200/s against a 50/s limit.
  drive(ports, 2, std::chrono::microseconds(5000), start + std::chrono::seconds(5), t);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double expected = 50 + 50 * seconds;
  std::printf("  %.2f s: admitted %d (expected %.0f), limited %d, other %d, slowest %lld us\n",
              seconds, t.admitted.load(), expected, t.limited.load(), t.other.load(),
              static_cast<long long>(t.slowest_us.load()));
  EXPECT_EQ(t.other.load(), 0);
  EXPECT_NEAR(t.admitted.load(), expected, expected * 0.05);
  EXPECT_GT(t.limited.load(), 2000) << "the load was not an overload";

  // Redis dies. Within a few sync intervals every instance notices and fails open.
  redis_->kill();
  // A few sync intervals plus the command timeout; generous for sanitizer builds.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  Tally down;
  drive(ports, 1, std::chrono::microseconds(20000), Clock::now() + std::chrono::seconds(1), down);
  std::printf("  redis down: admitted %d, limited %d, other %d, slowest %lld us\n",
              down.admitted.load(), down.limited.load(), down.other.load(),
              static_cast<long long>(down.slowest_us.load()));
  EXPECT_GT(down.admitted.load(), 100);
  // An instance learns that Redis is gone at its next lease request (a sync
  // round that needs nothing sends nothing); until then an empty local pool
  // still denies. That window is at most a sync interval: a request or two each.
  EXPECT_LE(down.limited.load(), 6);
  EXPECT_EQ(down.other.load(), 0);
  EXPECT_LT(down.slowest_us.load(), 500000) << "a request stalled while redis was down";
  // Each instance says, at the default level and once (the health timer looks every second),
  // that on_error now decides and that it fails open.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  for (int i = 0; i < 3; ++i) {
    const std::string err = sluice(i).stderr_text();
    EXPECT_EQ(count_occurrences(err, "warn rate limit 'shared': Redis cannot be asked"), 1u) << err;
    EXPECT_NE(err.find("admitted without a global count (failing open)"), std::string::npos) << err;
  }
}

// `on_error: deny`: once Redis is gone and the leased tokens are spent, every
// request is refused with a 429, promptly. Leased tokens are at most two
// intervals of the rate (2 × 3 here) and are spent first, by design.
TEST_F(GlobalLimitTest, FailClosedWhenRedisIsDown) {
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(yaml(port, "deny")), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Tally up;
  drive({port}, 1, std::chrono::microseconds(20000), Clock::now() + std::chrono::seconds(1), up);
  EXPECT_GT(up.admitted.load(), 30) << "nothing was admitted while redis was up";
  EXPECT_EQ(up.other.load(), 0);

  redis_->kill();
  // A few sync intervals plus the command timeout; generous for sanitizer builds.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  Tally down;
  drive({port}, 2, std::chrono::microseconds(10000), Clock::now() + std::chrono::seconds(1), down);
  std::printf("  redis down: admitted %d, limited %d, other %d, slowest %lld us\n",
              down.admitted.load(), down.limited.load(), down.other.load(),
              static_cast<long long>(down.slowest_us.load()));
  EXPECT_LE(down.admitted.load(), 6);
  EXPECT_GT(down.limited.load(), 100);
  EXPECT_EQ(down.other.load(), 0);
  EXPECT_LT(down.slowest_us.load(), 500000) << "a request stalled while redis was down";
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const std::string err = sluice().stderr_text();
  EXPECT_EQ(count_occurrences(err, "warn rate limit 'shared': Redis cannot be asked"), 1u) << err;
}

// config/examples/rate-limits.yaml and docs/config.md: a global limit keyed by
// `header:X-Api-Key` is a per-client token bucket shared by every sluice
// instance: once one key spent its burst, another key still has its own.
TEST_F(GlobalLimitTest, HeaderKeyedGlobalLimitCountsKeysSeparately) {
  uint16_t port = free_loopback_port();
  // 1/min: nothing refills during the test; a key gets its burst of 50 only.
  std::string config = yaml(port, "deny", "\"header:X-Api-Key\"");
  config.replace(config.find("rate: 50/s"), 10, "rate: 1/min");
  ASSERT_GE(start_sluice(config), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Key alpha spends its burst (at once: a key new to the instance trusts a
  // full bucket), then nothing refills.
  Tally alpha;
  drive({port}, 1, std::chrono::microseconds(5000), Clock::now() + std::chrono::seconds(4), alpha,
        "X-Api-Key: alpha\r\n");
  ASSERT_GE(alpha.admitted.load(), 45);
  ASSERT_LE(alpha.admitted.load(), 51);
  // Key beta has not sent anything: its own bucket is full.
  Tally beta;
  drive({port}, 1, std::chrono::microseconds(20000), Clock::now() + std::chrono::seconds(1), beta,
        "X-Api-Key: beta\r\n");
  EXPECT_GE(beta.admitted.load(), 20) << "key beta was limited by key alpha's spending";
}

// A global limit with `burst: 10` lets a client that was idle send 10
// requests at once, like the same limit with `scope: local` does: an idle
// instance trusts the bucket Redis last reported (full, for a key it has not
// seen) and owes what it spent, rather than holding only its small lease.
TEST_F(GlobalLimitTest, IdleInstanceAdmitsABurst) {
  uint16_t port = free_loopback_port();
  std::string config = yaml(port, "deny");
  config.replace(config.find("rate: 50/s"), 10, "rate: 1/min");
  config.replace(config.find("burst: 50"), 9, "burst: 10");
  ASSERT_GE(start_sluice(config), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  HttpClient client(port);
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += client.get("/").status == 200;
  EXPECT_GE(admitted, 8);
}

}  // namespace
}  // namespace sluice::testing
