// Redis AUTH for global rate limits (issue #13, item 8) against a real redis-server that wants
// a password: RedisSync with the legacy `AUTH password` and the Redis 6 ACL `AUTH username
// password`; a wrong password fails the limiters per on_error and is reported once per change,
// not per attempt; then the real binary: /config redacts the password, and a wrong one fails
// closed with one log line. Also the real binary's view of a Redis outage (issue #15): one
// line when it goes, one when it is back, and sluice_redis_up.
#include <hiredis/hiredis.h>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "limiter/redis_sync.hpp"
#include "tests/limiter/redis_server.hpp"
#include "tests/limiter/redis_sync_driver.hpp"
#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;
using limiter::GlobalKeyedLimiter;
using limiter::GlobalLimitOptions;
using limiter::Nanos;
using limiter::OnError;
using limiter::RedisSync;
using limiter::RedisSyncOptions;
using limiter::testing::RedisServer;
using limiter::testing::RedisServerOptions;
constexpr Nanos kMs = 1'000'000;

// What on_auth was told, in order.
struct AuthEvents {
  std::vector<std::pair<bool, std::string>> seen;
  std::function<void(bool, const std::string&)> recorder() {
    return [this](bool ok, const std::string& detail) { seen.emplace_back(ok, detail); };
  }
};

RedisSyncOptions options(int port) {
  RedisSyncOptions o;
  o.port = port;
  o.server_time = false;
  o.connect_timeout = 200ms;
  o.command_timeout = 500ms;
  o.backoff_min = 50ms;
  o.backoff_max = 200ms;
  return o;
}

constexpr uint64_t kGlobal = 0;  // the key of `key: global`

// A global limit whose key has been decided once (refused or admitted by on_error: Redis has not
// answered yet), so that the next round has it to send.
std::shared_ptr<GlobalKeyedLimiter> limiter(const std::string& name, OnError on_error) {
  auto l = std::make_shared<GlobalKeyedLimiter>(GlobalLimitOptions{
      .name = name, .count = 1000, .per = 1s, .burst = 100, .on_error = on_error, .max_keys = 8});
  l->admit(kGlobal, 0);
  return l;
}

// One command on a blocking connection that authenticates first; the reply as text.
std::string command(int port, const std::string& password, const std::vector<std::string>& args) {
  redisContext* c = redisConnect("127.0.0.1", port);
  std::string out = "no connection";
  if (c != nullptr && c->err == 0) {
    redisReply* auth = static_cast<redisReply*>(redisCommand(c, "AUTH %s", password.c_str()));
    if (auth != nullptr) freeReplyObject(auth);
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
    out = r == nullptr ? "no reply" : std::string(r->str != nullptr ? r->str : "", r->len);
    if (r != nullptr) freeReplyObject(r);
  }
  if (c != nullptr) redisFree(c);
  return out;
}

TEST(RedisSyncAuth, LegacyPasswordAndAclUserLease) {
  RedisServer server({.args = {"--requirepass", "legacy-pw", "--user", "sluice", "on", ">acl-pw",
                               "~*", "&*", "+@all"},
                      .password = "legacy-pw"});
  ASSERT_TRUE(server.running());
  struct Case {
    std::string username, password;
  };
  for (const Case& c : {Case{"", "legacy-pw"}, Case{"sluice", "acl-pw"}}) {
    RedisSyncOptions o = options(server.port());
    o.username = c.username;
    o.password = c.password;
    AuthEvents events;
    o.on_auth = events.recorder();
    RedisSync sync(o);
    auto l =
        limiter("auth-" + (c.username.empty() ? std::string("legacy") : c.username), OnError::deny);
    sync.add(l);
    ASSERT_TRUE(limiter::testing::tick_and_await(sync, 0)) << c.username;
    EXPECT_EQ(sync.stats().errors, 0u) << c.username;
    EXPECT_EQ(sync.stats().round_trips, 1u) << c.username;
    EXPECT_TRUE(l->redis_ok()) << c.username;
    EXPECT_GT(l->pool(kGlobal, 0), 0) << c.username;
    EXPECT_TRUE(events.seen.empty()) << c.username;  // nothing to report: it just worked
  }
  // Without a password the bucket scripts get NOAUTH: what every deployment with a protected
  // Redis got before AUTH existed.
  RedisSync bare(options(server.port()));
  auto l = limiter("bare", OnError::deny);
  bare.add(l);
  ASSERT_TRUE(limiter::testing::tick_and_await(bare, 0));
  EXPECT_FALSE(l->redis_ok());
  EXPECT_EQ(l->pool(kGlobal, 0), 0);
}

TEST(RedisSyncAuth, WrongPasswordFailsPerOnErrorAndIsReportedOncePerChange) {
  RedisServer server({.args = {"--requirepass", "old"}, .password = "old"});
  ASSERT_TRUE(server.running());
  RedisSyncOptions o = options(server.port());
  o.username = "";
  o.password = "new";
  AuthEvents events;
  o.on_auth = events.recorder();
  RedisSync sync(o);
  auto deny = limiter("deny", OnError::deny);
  auto allow = limiter("allow", OnError::allow);
  sync.add(deny);
  sync.add(allow);

  // Two seconds of fake time: an attempt after every backoff, each refused.
  for (Nanos now = 0; now <= 2000 * kMs; now += 10 * kMs)
    ASSERT_TRUE(limiter::testing::tick_and_await(sync, now));
  EXPECT_GE(sync.stats().errors, 8u);
  EXPECT_EQ(sync.stats().round_trips, 0u);
  ASSERT_EQ(events.seen.size(), 1u);
  EXPECT_FALSE(events.seen[0].first);
  EXPECT_EQ(events.seen[0].second.rfind("WRONGPASS", 0), 0u) << events.seen[0].second;
  EXPECT_FALSE(deny->redis_ok());
  EXPECT_FALSE(deny->admit(kGlobal, 2000 * kMs).admitted);  // fail closed
  EXPECT_TRUE(allow->admit(kGlobal, 2000 * kMs).admitted);  // fail open
  EXPECT_EQ(deny->pool(kGlobal, 2000 * kMs), 0);

  // The operator fixes Redis' side: the next attempt is accepted, and that is said once.
  ASSERT_EQ(command(server.port(), "old", {"CONFIG", "SET", "requirepass", "new"}), "OK");
  Nanos accepted = 0;  // the key's view is held for its idle TTL: read it when it came
  for (Nanos now = 2010 * kMs; now <= 2500 * kMs; now += 10 * kMs) {
    ASSERT_TRUE(limiter::testing::tick_and_await(sync, now));
    if (accepted == 0 && events.seen.size() == 2) accepted = now;
  }
  ASSERT_EQ(events.seen.size(), 2u);
  EXPECT_TRUE(events.seen[1].first);
  EXPECT_TRUE(deny->redis_ok());
  EXPECT_GT(deny->pool(kGlobal, accepted), 0);
  EXPECT_GT(sync.stats().round_trips, 0u);
}

// ---------------------------------------------------------------- the real binary

class RedisAuthTest : public ObsTest {
 protected:
  // A global limit of 1000/s (never reached here) shared through `redis_section`.
  bool start(const std::string& redis_section) {
    Backend& a = add_backend("a");
    port_ = free_loopback_port();
    return start_sluice("workers: 1\n" + admin_yaml() +
                        "listeners:\n"
                        "  - name: web\n"
                        "    listen: 127.0.0.1:" +
                        std::to_string(port_) +
                        "\n"
                        "    protocol: http\n"
                        "    routes: [{ match: {}, cluster: a, rate_limit: shared }]\n"
                        "clusters:\n"
                        "  - { name: a, endpoints: [{ address: " +
                        a.address() +
                        " }] }\n"
                        "rate_limits:\n"
                        "  - { name: shared, key: global, rate: 1000/s, scope: global }\n" +
                        redis_section);
  }
  int status() { return fetch_once(port_, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").status; }
  // Polls until a request gets `want` (or `timeout` passed); the last status.
  int wait_status(int want, Millis timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    int last = status();
    while (last != want && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(50ms);
      last = status();
    }
    return last;
  }
  std::string redis_at(const RedisServer& server) {
    return "redis:\n  address: 127.0.0.1:" + std::to_string(server.port()) +
           "\n  sync_interval: 50ms\n";
  }

  uint16_t port_ = 0;
};

TEST_F(RedisAuthTest, ConfigRedactsThePasswordAndItsFile) {
  RedisServer server({.args = {"--requirepass", "pw-in-yaml"}, .password = "pw-in-yaml"});
  ASSERT_TRUE(start(redis_at(server) + "  username: default\n  password: pw-in-yaml\n"));
  EXPECT_EQ(wait_status(200, Millis(5000)), 200);
  AdminReply r = admin("GET", "/config");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body.find("pw-in-yaml"), std::string::npos) << r.body;
  EXPECT_EQ(
      boost::json::parse(r.body).at("redis"),
      boost::json::parse(R"({"address": "127.0.0.1:)" + std::to_string(server.port()) +
                         R"(", "sync_interval": "50ms", "timeout": "100ms", "on_error": "allow",
               "username": "default", "password": "<redacted>", "password_file": null,
               "tls": null})"));

  const std::string file = dir_.write("redis-password", "pw-in-yaml\n");
  write_config(read_file(config_path_).substr(0, read_file(config_path_).find("  username:")) +
               "  password_file: " + file + "\n");
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  r = admin("GET", "/config");
  EXPECT_EQ(r.body.find("pw-in-yaml"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find(file), std::string::npos) << r.body;
  EXPECT_EQ(boost::json::parse(r.body).at("redis").at("password_file"), "<redacted>");
}

TEST_F(RedisAuthTest, WrongPasswordFailsClosedAndIsLoggedOnce) {
  RedisServer server({.args = {"--requirepass", "right"}, .password = "right"});
  ASSERT_TRUE(start(redis_at(server) + "  on_error: deny\n  password: wrong\n"));
  // Refused for a second of sync rounds: every request fails closed.
  std::this_thread::sleep_for(1s);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(status(), 429) << i;
  EXPECT_EQ(count_occurrences(sluice().stderr_text(), "redis: AUTH refused (WRONGPASS"), 1u)
      << sluice().stderr_text();

  // Redis' password changes to the one sluice has: accepted at the next attempt (backoff
  // doubles to 5 s), said once.
  ASSERT_EQ(command(server.port(), "right", {"CONFIG", "SET", "requirepass", "wrong"}), "OK");
  EXPECT_EQ(wait_status(200, Millis(12000)), 200);
  const std::string log = sluice().stderr_text();
  EXPECT_EQ(count_occurrences(log, "redis: AUTH refused"), 1u) << log;
  EXPECT_EQ(count_occurrences(log, "redis: AUTH accepted"), 1u) << log;
}

// Redis down at start, then up: one line each way (never one per attempt), and the gauge.
TEST_F(RedisAuthTest, OutageIsLoggedOnceEachWayAndExported) {
  RedisServer server;
  server.kill();  // its port stays known: start() brings it back there
  ASSERT_TRUE(start(redis_at(server)));
  const std::string address = "redis 127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(wait_metric("sluice_redis_up", 0), 0);
  std::this_thread::sleep_for(1500ms);  // several failed attempts (backoff from 100 ms)
  std::string log = sluice().stderr_text();
  EXPECT_EQ(count_occurrences(log, address + ": unreachable ("), 1u) << log;
  EXPECT_NE(log.find("Connection refused"), std::string::npos) << log;

  ASSERT_TRUE(server.start());
  EXPECT_EQ(wait_metric("sluice_redis_up", 1, Millis(12000)), 1);
  log = sluice().stderr_text();
  EXPECT_EQ(count_occurrences(log, address + ": reachable again after "), 1u) << log;
  EXPECT_EQ(count_occurrences(log, address + ": unreachable ("), 1u) << log;
}

}  // namespace
}  // namespace sluice::testing
