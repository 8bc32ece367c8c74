// HealthChecks on a real ControlLoop against real loopback servers (proxy/control/health/
// health_checks): verdicts and their reasons, one probe stream per shared target, state that
// survives set_cluster, the cap on probes in flight, first probes spread out.
#include "proxy/control/health/health_checks.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/control/health_test_support.hpp"
#include "tests/support/backend_launcher.hpp"
#include "tests/support/socket.hpp"

namespace sluice::proxy::health {
namespace {

using namespace std::chrono_literals;
using testing::address_of;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

config::HealthCheck check(config::HealthCheck::Kind kind, config::Duration interval,
                          config::Duration timeout, std::string path = "/healthz") {
  config::HealthCheck spec;
  spec.kind = kind;
  spec.interval = interval;
  spec.timeout = timeout;
  spec.http_path = std::move(path);
  return spec;
}

// A HealthChecks with its callbacks recorded.
struct Fixture {
  control::ControlLoop loop;
  std::vector<std::string> changed;
  std::vector<std::pair<bool, std::string>> lines;
  HealthChecks checks;
  explicit Fixture(HealthChecks::Options options = {})
      : checks(
            loop, [this](const std::string& cluster) { changed.push_back(cluster); },
            [this](bool warning, const std::string& line) { lines.emplace_back(warning, line); },
            options) {}

  HealthStatus status(const std::string& cluster, const std::string& address) const {
    const auto verdict = checks.verdict(cluster, address_of(address));
    EXPECT_EQ(verdict.status, checks.health(cluster, address_of(address)).status);
    return verdict.status;
  }
  bool decided(const std::string& cluster, const std::string& address) const {
    return status(cluster, address) != HealthStatus::pending;
  }
  std::string last_reason(const std::string& cluster, const std::string& address) const {
    auto h = checks.health(cluster, address_of(address));
    return h.last_results.empty() ? "" : h.last_results.back().reason;
  }
};

TEST(HealthChecks, VerdictsAndTheirReasons) {
  sluice::testing::TempDir dir("health");
  auto backend = sluice::testing::start_backend(dir, {.mode = "http"});
  uint16_t refused_port = 0;
  auto refusing = sluice::testing::reserve_refusing_port(&refused_port);
  auto blackhole = sluice::testing::make_blackhole();
  ASSERT_TRUE(blackhole.listener.valid());
  const std::string good = backend.address();
  const std::string refused = "127.0.0.1:" + std::to_string(refused_port);
  const std::string hangs = "127.0.0.1:" + std::to_string(blackhole.port);

  Fixture f;
  const auto http = config::HealthCheck::Kind::http;
  f.checks.set_cluster("web", check(http, 200ms, 80ms),
                       {address_of(good), address_of(refused), address_of(hangs)});
  // The same backend with another spec is another target with its own verdict.
  f.checks.set_cluster("maintenance", check(http, 200ms, 80ms, "/status/503"), {address_of(good)});
  EXPECT_EQ(f.status("web", good), HealthStatus::pending);
  EXPECT_TRUE(f.changed.empty());  // set_cluster never calls back
  const auto begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(testing::run_until(
      f.loop,
      [&] {
        return f.decided("web", good) && f.decided("web", refused) && f.decided("web", hangs) &&
               f.decided("maintenance", good);
      },
      3s));
  // First probes come within min(interval, 1 s), answers within the timeout (plus slack for
  // a loaded machine).
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 200ms + 80ms + 300ms);

  EXPECT_EQ(f.status("web", good), HealthStatus::healthy);
  EXPECT_EQ(f.last_reason("web", good), "status 200");
  EXPECT_EQ(f.status("web", refused), HealthStatus::unhealthy);
  EXPECT_EQ(f.last_reason("web", refused), "connect refused");
  EXPECT_EQ(f.status("web", hangs), HealthStatus::unhealthy);
  EXPECT_EQ(f.last_reason("web", hangs), "timeout after 80ms (connecting)");
  EXPECT_EQ(f.status("maintenance", good), HealthStatus::unhealthy);
  EXPECT_EQ(f.last_reason("maintenance", good), "status 503");

  std::sort(f.changed.begin(), f.changed.end());
  EXPECT_THAT(f.changed, ElementsAre("maintenance", "web", "web", "web"));
  ASSERT_EQ(f.lines.size(), 4u);
  size_t warnings = 0;
  for (const auto& [warning, line] : f.lines) warnings += warning;
  EXPECT_EQ(warnings, 3u);
  const auto refused_line = std::find_if(f.lines.begin(), f.lines.end(), [&](const auto& l) {
    return l.second.find(refused) != std::string::npos;
  });
  ASSERT_NE(refused_line, f.lines.end());
  EXPECT_EQ(refused_line->second, "health check http GET /healthz of " + refused +
                                      " (cluster web): pending -> unhealthy: first check: "
                                      "connect refused");
  const HealthCheckStats stats = f.checks.stats();
  EXPECT_EQ(stats.targets, 4u);
  EXPECT_EQ(stats.transitions[0][1], 1u);  // pending -> healthy
  EXPECT_EQ(stats.transitions[0][2], 3u);  // pending -> unhealthy
  EXPECT_GE(stats.checks[static_cast<size_t>(Outcome::refused)], 1u);
  EXPECT_GE(stats.checks[static_cast<size_t>(Outcome::timeout)], 1u);
  EXPECT_GE(stats.checks[static_cast<size_t>(Outcome::bad_status)], 1u);
  // Addresses a cluster does not check, and unknown clusters, are not held back by checks.
  EXPECT_FALSE(f.checks.health("web", address_of("127.0.0.1:1")).checked);
  EXPECT_FALSE(f.checks.health("nope", address_of(good)).checked);
  EXPECT_FALSE(f.checks.verdict("web", address_of("127.0.0.1:1")).checked);
  EXPECT_EQ(f.checks.verdict("web", address_of("127.0.0.1:1")).status, HealthStatus::healthy);
}

TEST(HealthChecks, ClustersSharingATargetShareOneProbeStream) {
  sluice::testing::TempDir dir("health");
  auto backend = sluice::testing::start_backend(dir, {.mode = "http", .stats = true});
  Fixture f;
  const auto spec = check(config::HealthCheck::Kind::tcp, 100ms, 50ms);
  f.checks.set_cluster("a", spec, {address_of(backend.address())});
  // Another spelling of the same address.
  f.checks.set_cluster("b", spec, {address_of("localhost:" + std::to_string(backend.port))});
  EXPECT_EQ(f.checks.stats().targets, 1u);
  testing::run_until(
      f.loop, [] { return false; }, 1050ms);
  // One stream at ~10 probes a second, not two (~20): at most 11 (+-10% jitter, a first probe
  // early); fewer when the machine is busy.
  const uint64_t probes = backend.connections();
  EXPECT_GE(probes, 5u);
  EXPECT_LE(probes, 12u);
  const auto a = f.checks.health("a", address_of(backend.address()));
  const auto b = f.checks.health("b", address_of(backend.address()));
  EXPECT_EQ(a.status, HealthStatus::healthy);
  EXPECT_EQ(a.checks, b.checks);
  EXPECT_EQ(a.since, b.since);
  // The one verdict change told both clusters, in one log line naming both.
  EXPECT_THAT(f.changed, ElementsAre("a", "b"));
  ASSERT_EQ(f.lines.size(), 1u);
  EXPECT_THAT(f.lines[0].second, HasSubstr("(cluster a, b): pending -> healthy"));
}

TEST(HealthChecks, StateSurvivesUpdatesThatKeepTheTarget) {
  Fixture f;
  testing::LoopServer server(f.loop, [](const std::string&) { return std::string(); });
  uint16_t refused_port = 0;
  auto refusing = sluice::testing::reserve_refusing_port(&refused_port);
  const std::string up = server.address();
  const std::string added = "127.0.0.1:" + std::to_string(refused_port);
  const auto spec = check(config::HealthCheck::Kind::tcp, 100ms, 50ms);
  f.checks.set_cluster("a", spec, {address_of(up)});
  ASSERT_TRUE(testing::run_until(
      f.loop, [&] { return f.decided("a", up); }, 2s));
  const EndpointHealth before = f.checks.health("a", address_of(up));

  // A discovery update adds an endpoint: the old one keeps its verdict, the new one waits.
  f.checks.set_cluster("a", spec, {address_of(added), address_of(up)});
  EXPECT_EQ(f.status("a", added), HealthStatus::pending);
  const EndpointHealth kept = f.checks.health("a", address_of(up));
  EXPECT_EQ(kept.status, HealthStatus::healthy);
  EXPECT_EQ(kept.since, before.since);
  EXPECT_EQ(kept.checks, before.checks);
  ASSERT_TRUE(testing::run_until(
      f.loop, [&] { return f.decided("a", added); }, 2s));
  EXPECT_EQ(f.status("a", added), HealthStatus::unhealthy);

  // A reload with another spec is a new check: its history starts over.
  f.checks.set_cluster("a", check(config::HealthCheck::Kind::tcp, 150ms, 50ms),
                       {address_of(added), address_of(up)});
  EXPECT_EQ(f.status("a", up), HealthStatus::pending);
  EXPECT_EQ(f.checks.stats().targets, 2u);
  // Dropping the check releases every target.
  f.checks.set_cluster("a", std::nullopt, {address_of(up)});
  EXPECT_FALSE(f.checks.health("a", address_of(up)).checked);
  EXPECT_EQ(f.checks.stats().targets, 0u);
  const int accepted = server.accepted();
  testing::run_until(
      f.loop, [] { return false; }, 300ms);
  EXPECT_EQ(server.accepted(), accepted);  // and stops their probes
}

TEST(HealthChecks, GoesDownAfterThresholdFailuresAndComesBack) {
  Fixture f;
  testing::LoopServer server(f.loop, [](const std::string&) { return std::string(); });
  const std::string address = server.address();
  f.checks.initial_load_done();  // so this endpoint counts as new (slow start)
  f.checks.set_cluster("a", check(config::HealthCheck::Kind::tcp, 50ms, 40ms),
                       {address_of(address)});
  ASSERT_TRUE(testing::run_until(
      f.loop, [&] { return f.decided("a", address); }, 2s));
  EXPECT_EQ(f.status("a", address), HealthStatus::healthy);
  EXPECT_GT(f.checks.health("a", address_of(address)).routable_since, 0);
  EXPECT_EQ(f.checks.verdict("a", address_of(address)).routable_since,
            f.checks.health("a", address_of(address)).routable_since);

  server.stop();
  const auto down_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(testing::run_until(
      f.loop, [&] { return f.status("a", address) == HealthStatus::unhealthy; }, 2s));
  // unhealthy (3) failures in a row at interval 50 ms +- 10%.
  const auto took = std::chrono::steady_clock::now() - down_at;
  EXPECT_GE(took, 90ms);
  EXPECT_LT(took, 3 * 55ms + 300ms);
  EXPECT_EQ(f.lines.back(),
            std::make_pair(true, "health check tcp connect of " + address +
                                     " (cluster a): healthy -> unhealthy: 3 failures in a row, "
                                     "last: connect refused"));

  server.start();  // the same port again
  const auto up_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(testing::run_until(
      f.loop, [&] { return f.status("a", address) == HealthStatus::healthy; }, 2s));
  EXPECT_GE(std::chrono::steady_clock::now() - up_at, 40ms);  // two successes, not one
  EXPECT_THAT(f.lines.back().second, HasSubstr("unhealthy -> healthy: 2 successes in a row"));
  EXPECT_THAT(f.changed, ElementsAre("a", "a", "a"));
  const auto stats = f.checks.stats();
  EXPECT_EQ(stats.transitions[1][2], 1u);
  EXPECT_EQ(stats.transitions[2][1], 1u);
}

TEST(HealthChecks, CapsProbesInFlightAndQueuesTheRest) {
  std::vector<sluice::testing::Blackhole> holes;
  std::vector<config::Address> present;
  for (int i = 0; i < 6; ++i) {
    holes.push_back(sluice::testing::make_blackhole());
    ASSERT_TRUE(holes.back().listener.valid());
    present.push_back(address_of("127.0.0.1:" + std::to_string(holes.back().port)));
  }
  Fixture f({.max_in_flight = 2, .max_first_delay = 1ms, .seed = 7});
  f.checks.set_cluster("a", check(config::HealthCheck::Kind::tcp, 2s, 100ms), present);
  size_t most_in_flight = 0;
  size_t most_queued = 0;
  auto all_decided = [&] {
    const auto stats = f.checks.stats();
    most_in_flight = std::max(most_in_flight, stats.in_flight);
    most_queued = std::max(most_queued, stats.queued);
    return std::all_of(present.begin(), present.end(), [&](const config::Address& a) {
      return f.checks.health("a", a).status != HealthStatus::pending;
    });
  };
  const auto begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(testing::run_until(f.loop, all_decided, 3s));
  EXPECT_EQ(most_in_flight, 2u);
  EXPECT_EQ(most_queued, 4u);
  // Three rounds of two timeouts each.
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 300ms);
  EXPECT_EQ(f.checks.stats().in_flight, 0u);
  EXPECT_EQ(f.checks.stats().queued, 0u);

  // Targets removed while in flight or queued give their slots and places back.
  f.checks.set_cluster("b", check(config::HealthCheck::Kind::tcp, 2s, 1s), present);
  ASSERT_TRUE(testing::run_until(
      f.loop, [&] { return f.checks.stats().queued == 4; }, 2s));
  EXPECT_EQ(f.checks.stats().in_flight, 2u);
  f.checks.remove_cluster("b");
  EXPECT_EQ(f.checks.stats().in_flight, 0u);
  EXPECT_EQ(f.checks.stats().queued, 0u);
  EXPECT_EQ(f.checks.stats().targets, 6u);  // cluster a's
}

TEST(HealthChecks, FirstProbesSpreadOverTheFirstSecond) {
  // 30 endpoints added at once do not fire at once (envoy#10498): their first probes fall
  // over [0, 1 s), not into one burst.
  std::vector<sluice::testing::Socket> ports;
  std::vector<config::Address> present;
  for (int i = 0; i < 30; ++i) {
    uint16_t port = 0;
    ports.push_back(sluice::testing::reserve_refusing_port(&port));
    present.push_back(address_of("127.0.0.1:" + std::to_string(port)));
  }
  Fixture f;
  f.checks.set_cluster("a", check(config::HealthCheck::Kind::tcp, 5s, 100ms), present);
  const limiter::Nanos start =
      std::chrono::duration_cast<std::chrono::nanoseconds>(f.loop.now().time_since_epoch()).count();
  ASSERT_TRUE(testing::run_until(
      f.loop, [&] { return f.lines.size() == 30; }, 2s));
  std::vector<limiter::Nanos> offsets;
  for (const auto& a : present) offsets.push_back(f.checks.health("a", a).since - start);
  std::sort(offsets.begin(), offsets.end());
  EXPECT_LT(offsets.back(), 1'050'000'000);
  // Uniform over a second: a quarter of them in each quarter, give or take.
  const auto in_first_half =
      std::count_if(offsets.begin(), offsets.end(), [](auto o) { return o < 500'000'000; });
  EXPECT_GE(in_first_half, 7);
  EXPECT_LE(in_first_half, 23);
  EXPECT_GT(offsets.back() - offsets.front(), 500'000'000);
}

TEST(HealthChecks, CallbacksMayChangeTheClusters) {
  Fixture f;
  uint16_t port = 0;
  auto refusing = sluice::testing::reserve_refusing_port(&port);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  bool removed = false;
  HealthChecks checks(
      f.loop,
      [&](const std::string& cluster) {
        checks.remove_cluster(cluster);  // the target, and its state, go right here
        removed = true;
      },
      nullptr);
  checks.set_cluster("a", check(config::HealthCheck::Kind::tcp, 100ms, 50ms),
                     {address_of(address)});
  ASSERT_TRUE(testing::run_until(
      f.loop, [&] { return removed; }, 2s));
  EXPECT_EQ(checks.stats().targets, 0u);
  testing::run_until(
      f.loop, [] { return false; }, 200ms);  // nothing left to fire
  EXPECT_EQ(checks.stats().in_flight, 0u);
}

}  // namespace
}  // namespace sluice::proxy::health
