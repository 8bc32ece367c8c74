// A global (`scope: global`) limit admits at its configured rate (issue #13, item 5): one
// sluice, a real redis-server, a client well below the rate is refused nothing, a fresh bucket
// admits back to back, and until Redis has answered once `on_error` decides (allow admits, deny
// refuses) instead of an empty lease pool refusing everything.
#include <thread>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class GlobalLimitRateTest : public PolicyTest {
 protected:
  void SetUp() override {
    if (RedisProcess::binary().empty()) GTEST_SKIP() << "redis-server is not installed";
    add_http_backend("b0");
  }

  // The probe's limit: 1000/s with a burst of 200, leased every 50 ms from `redis_address`.
  std::string yaml(uint16_t port, const std::string& redis_address, const std::string& on_error) {
    return limited_route_yaml(port, "shared", backends_[0].address()) +
           "  - { name: shared, key: global, rate: 1000/s, burst: 200, scope: global }\n"
           "redis: { address: " +
           redis_address + ", sync_interval: 50ms, timeout: 1s, on_error: " + on_error + " }\n";
  }
};

// on_error deny, so a request the lease pool cannot cover shows as a 429.
TEST_F(GlobalLimitRateTest, SequentialClientBelowTheRateIsRefusedNothing) {
  RedisProcess redis(dir_);
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(yaml(port, redis.address(), "deny")), 0);
  std::this_thread::sleep_for(Millis(300));  // the first exchange is long done
  HttpClient client(port);
  // A fresh bucket: back to back (the old pool held one token and refused the second).
  int refused_at_once = 0;
  for (int i = 0; i < 20; ++i) refused_at_once += client.get("/").status != 200;
  EXPECT_EQ(refused_at_once, 0);

  // 300 requests one at a time at 100-200/s: a fifth of the rate or less.
  int refused = 0, other = 0;
  const auto start = Clock::now();
  auto next = start;
  for (int i = 0; i < 300; ++i) {
    next += Millis(i % 2 == 0 ? 5 : 10);
    std::this_thread::sleep_until(next);
    const int status = client.get("/").status;
    refused += status == 429;
    other += status != 200 && status != 429;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("  300 requests at %.0f/s against 1000/s: %d refused\n", 300 / seconds, refused);
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(other, 0);
}

// Redis cannot be reached yet (its address drops every SYN): until it has answered once, the
// limit follows on_error. allow: admitted from the first request on; deny: refused.
TEST_F(GlobalLimitRateTest, BeforeRedisAnswersOnErrorDecides) {
  Blackhole unreachable = make_blackhole();
  ASSERT_TRUE(unreachable.listener.valid()) << "cannot make an unreachable address";
  const uint16_t allow_port = free_loopback_port();
  ASSERT_GE(start_sluice(yaml(allow_port, loopback_address(unreachable.port), "allow")), 0);
  // At once: the connect is still pending (it fails after redis.timeout, 1 s here).
  HttpClient allow(allow_port);
  int admitted = 0;
  for (int i = 0; i < 20; ++i) admitted += allow.get("/").status == 200;
  EXPECT_EQ(admitted, 20) << "refused before Redis ever answered, with on_error: allow";

  const uint16_t deny_port = free_loopback_port();
  ASSERT_GE(start_sluice(yaml(deny_port, loopback_address(unreachable.port), "deny")), 0);
  HttpClient deny(deny_port);
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = deny.get("/");
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.header("x-sluice-error"), "rate-limited");
  }
  // Later too, while Redis stays unreachable.
  std::this_thread::sleep_for(Millis(400));
  EXPECT_EQ(allow.get("/").status, 200);
  EXPECT_EQ(deny.get("/").status, 429);
}

}  // namespace
}  // namespace sluice::testing
