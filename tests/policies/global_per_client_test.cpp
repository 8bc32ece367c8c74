// A global limit per client IP (issue #14, "what it must show"): three sluice processes and
// one real redis-server hold `key: client_ip, scope: global` for each of ten clients, each
// client with its own loopback source address and its requests spread round robin over the
// three instances at twice its limit.
#include <array>
#include <atomic>
#include <thread>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class GlobalPerClientTest : public PolicyTest {
 protected:
  void SetUp() override {
    if (RedisProcess::binary().empty()) GTEST_SKIP() << "redis-server is not installed";
    redis_.emplace(dir_);
    add_http_backend("b0");
  }

  std::string yaml(uint16_t port, const std::string& limit, const std::string& sync) {
    return limited_route_yaml(port, "per-client", backends_[0].address()) +
           "  - name: per-client\n"
           "    key: client_ip\n" +
           limit + "    scope: global\n" + "redis: { address: " + redis_->address() +
           ", sync_interval: " + sync + ", timeout: 1s, on_error: deny }\n";
  }

  struct Counts {
    int admitted = 0;
    int limited = 0;
    int other = 0;
  };

  // Ten clients, 127.0.0.2 to 127.0.0.11, each sending one request every `gap` to the three
  // instances in turn, for `run`. Returns each client's counts and the time they were sent in.
  std::array<Counts, 10> drive(const std::vector<uint16_t>& ports, std::chrono::microseconds gap,
                               Clock::duration run, double& seconds) {
    std::array<Counts, 10> counts{};
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    for (int c = 0; c < 10; ++c) {
      threads.emplace_back([&, c] {
        const std::string ip = "127.0.0." + std::to_string(c + 2);
        std::vector<HttpClient> clients;
        for (uint16_t port : ports) clients.emplace_back(port, ip);
        auto next = start + gap * c / 10;  // clients out of step with each other
        for (size_t turn = c; Clock::now() < start + run; ++turn) {
          std::this_thread::sleep_until(next);
          next += gap;
          const HttpResponse r = clients[turn % clients.size()].get("/", "", Millis(5000));
          if (r.status == 200) {
            ++counts[c].admitted;
          } else if (r.status == 429 && r.header("x-sluice-error") == "rate-limited") {
            ++counts[c].limited;
          } else {
            ++counts[c].other;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    // The time requests were sent in: a response stalled past the end (the box is shared) sends
    // nothing more and must not stretch what the limit is expected to admit.
    seconds = std::chrono::duration<double>(run).count();
    const double took = std::chrono::duration<double>(Clock::now() - start).count();
    if (took > seconds + 0.5)
      std::printf("  (the last responses came %.2f s late)\n", took - seconds);
    return counts;
  }

  // `windows`: the limit counts in one-second windows aligned on the wall clock: the run covers
  // exactly 8 of them and each admits `per_second`. Else burst + rate x time.
  void expect_each_client_near(const std::string& limit, const std::string& sync, double per_second,
                               double burst, bool windows = false) {
    std::vector<uint16_t> ports;
    for (int i = 0; i < 3; ++i) {
      ports.push_back(free_loopback_port());
      ASSERT_GE(start_sluice(yaml(ports.back(), limit, sync)), 0);
    }
    Clock::duration run = std::chrono::seconds(8);
    if (windows) {
      const auto wall = std::chrono::system_clock::now().time_since_epoch();
      const auto next_second =
          std::chrono::ceil<std::chrono::seconds>(wall) + std::chrono::milliseconds(20);
      std::this_thread::sleep_for(next_second - wall);
      run -= std::chrono::milliseconds(40);
    }
    double seconds = 0;
    // 40 requests/s per client: twice its limit.
    const auto counts = drive(ports, std::chrono::microseconds(25000), run, seconds);
    const double expected = windows ? per_second * 8 : burst + per_second * seconds;
    const double tolerance = windows ? kWindowTolerance : 0.05;
    for (int c = 0; c < 10; ++c) {
      std::printf("  client 127.0.0.%d: admitted %d (expected %.1f in %.2f s), limited %d\n", c + 2,
                  counts[c].admitted, expected, seconds, counts[c].limited);
      EXPECT_NEAR(counts[c].admitted, expected, expected * tolerance) << "client " << c + 2;
      EXPECT_GT(counts[c].limited, expected * 0.5) << "the load was not an overload";
      EXPECT_EQ(counts[c].other, 0);
    }
  }

  // A window over-admits what the other instances admit in one sync lag (docs/config.md). Under
  // ASan the control threads run their rounds several times slower, and the lag with them: 6-9%
  // over was seen there on a busy box, 2-4% in a release build.
#if defined(__SANITIZE_ADDRESS__)
  static constexpr double kWindowTolerance = 0.10;
#else
  static constexpr double kWindowTolerance = 0.05;
#endif

  std::optional<RedisProcess> redis_;
};

// A token bucket of 20/s with a burst of 20 per client: each client gets burst + rate x time.
TEST_F(GlobalPerClientTest, TokenBucketPerClientIpHoldsAcrossThreeInstances) {
  expect_each_client_near("    rate: 20/s\n    burst: 20\n", "50ms", 20, 20);
}

// A fixed window of 20/s per client: 20 per window. What the other instances admit in one sync
// lag is the over-admission (docs/config.md): at 20 ms it is 2-4% here, so this one syncs every
// 10 ms.
TEST_F(GlobalPerClientTest, FixedWindowPerClientIpHoldsAcrossThreeInstances) {
  expect_each_client_near("    algorithm: fixed_window\n    rate: 20/s\n", "10ms", 20, 0, true);
}

}  // namespace
}  // namespace sluice::testing
