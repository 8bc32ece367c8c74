// One health probe over real loopback sockets on a real ControlLoop (proxy/control/health/
// probe): connects that work, are refused or hang; HTTP answers that pass, fail, never come
// or are not HTTP.
#include "proxy/control/health/probe.hpp"

#include <dirent.h>
#include <gtest/gtest.h>

#include <optional>

#include "tests/control/health_test_support.hpp"
#include "tests/support/backend_launcher.hpp"
#include "tests/support/socket.hpp"

namespace sluice::proxy::health {
namespace {

using namespace std::chrono_literals;
using testing::address_of;

config::HealthCheck tcp_check(config::Duration timeout = 500ms) {
  config::HealthCheck spec;
  spec.timeout = timeout;
  return spec;
}

config::HealthCheck http_check(std::string path, config::Duration timeout = 500ms) {
  config::HealthCheck spec = tcp_check(timeout);
  spec.kind = config::HealthCheck::Kind::http;
  spec.http_path = std::move(path);
  return spec;
}

struct ProbeRun {
  CheckResult result;
  std::chrono::milliseconds took;
};

// One probe to completion on `loop` (a fresh one unless given).
ProbeRun probe(const config::HealthCheck& spec, const std::string& address,
               control::ControlLoop* shared = nullptr) {
  control::ControlLoop own;
  control::ControlLoop& loop = shared ? *shared : own;
  std::optional<CheckResult> result;
  const auto begin = std::chrono::steady_clock::now();
  Probe p(loop, address_of(address), spec, [&](CheckResult r) { result = std::move(r); });
  EXPECT_FALSE(result.has_value()) << "done must not run inside the constructor";
  EXPECT_TRUE(testing::run_until(
      loop, [&] { return result.has_value(); }, 5s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - begin);
  return {result.value_or(CheckResult{Outcome::connect_error, "never finished", 0}), took};
}

size_t open_fds() {
  size_t n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (::readdir(dir) != nullptr) ++n;
  ::closedir(dir);
  return n;
}

TEST(Probe, TcpPassesWhenTheConnectCompletes) {
  sluice::testing::TempDir dir("probe");
  auto backend = sluice::testing::start_backend(dir, {.mode = "echo"});
  const ProbeRun run = probe(tcp_check(), backend.address());
  EXPECT_EQ(run.result.outcome, Outcome::ok);
  EXPECT_EQ(run.result.reason, "connected");
  EXPECT_GT(run.result.at, 0);
}

TEST(Probe, TcpRefusedAndTimedOut) {
  uint16_t port = 0;
  auto refusing = sluice::testing::reserve_refusing_port(&port);
  ProbeRun run = probe(tcp_check(), "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(run.result.outcome, Outcome::refused);
  EXPECT_EQ(run.result.reason, "connect refused");
  EXPECT_LT(run.took, 200ms);  // a refusal is known at once, not at the timeout

  auto blackhole = sluice::testing::make_blackhole();
  ASSERT_TRUE(blackhole.listener.valid());
  run = probe(tcp_check(150ms), "127.0.0.1:" + std::to_string(blackhole.port));
  EXPECT_EQ(run.result.outcome, Outcome::timeout);
  EXPECT_EQ(run.result.reason, "timeout after 150ms (connecting)");
  EXPECT_GE(run.took, 150ms);
  EXPECT_LT(run.took, 400ms);
}

TEST(Probe, HttpSendsGetWithHostAndConnectionClose) {
  control::ControlLoop loop;
  testing::LoopServer server(
      loop, [](const std::string&) { return "HTTP/1.1 204 No Content\r\nServer: test\r\n\r\n"; });
  config::HealthCheck spec = http_check("/ready?deep=1");
  ProbeRun run = probe(spec, server.address(), &loop);
  EXPECT_EQ(run.result.outcome, Outcome::ok);
  EXPECT_EQ(run.result.reason, "status 204");
  EXPECT_EQ(server.last_request(),
            "GET /ready?deep=1 HTTP/1.1\r\nHost: " + server.address() +
                "\r\nUser-Agent: sluice-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  spec.http_host = "api.internal";
  probe(spec, server.address(), &loop);
  EXPECT_NE(server.last_request().find("\r\nHost: api.internal\r\n"), std::string::npos);
}

TEST(Probe, HttpStatusesPassOnlyWhenExpected) {
  sluice::testing::TempDir dir("probe");
  auto backend = sluice::testing::start_backend(dir, {.mode = "http"});
  ProbeRun run = probe(http_check("/healthz"), backend.address());
  EXPECT_EQ(run.result.outcome, Outcome::ok);
  EXPECT_EQ(run.result.reason, "status 200");
  run = probe(http_check("/status/503"), backend.address());
  EXPECT_EQ(run.result.outcome, Outcome::bad_status);
  EXPECT_EQ(run.result.reason, "status 503");
  config::HealthCheck maintenance = http_check("/status/503");
  maintenance.http_expect = {{200, 299}, {503, 503}};
  EXPECT_EQ(probe(maintenance, backend.address()).result.outcome, Outcome::ok);
  // 3xx passes by default, 4xx does not.
  EXPECT_EQ(probe(http_check("/status/302"), backend.address()).result.outcome, Outcome::ok);
  EXPECT_EQ(probe(http_check("/status/404"), backend.address()).result.outcome,
            Outcome::bad_status);
}

TEST(Probe, HttpWithoutAStatusLineInTimeFails) {
  sluice::testing::TempDir dir("probe");
  auto http = sluice::testing::start_backend(dir, {.mode = "http", .name = "slow"});
  ProbeRun run = probe(http_check("/sleep?ms=3000", 200ms), http.address());
  EXPECT_EQ(run.result.outcome, Outcome::timeout);
  EXPECT_EQ(run.result.reason, "timeout after 200ms (no status line)");
  EXPECT_LT(run.took, 500ms);

  // An echo server sends our request back: not a response.
  auto echo = sluice::testing::start_backend(dir, {.mode = "echo", .name = "echo"});
  run = probe(http_check("/healthz"), echo.address());
  EXPECT_EQ(run.result.outcome, Outcome::bad_response);
  EXPECT_EQ(run.result.reason.rfind("malformed response: ", 0), 0u) << run.result.reason;

  control::ControlLoop loop;
  testing::LoopServer hangs_up(loop, [](const std::string&) { return std::string(); });
  run = probe(http_check("/healthz"), hangs_up.address(), &loop);
  EXPECT_EQ(run.result.outcome, Outcome::bad_response);
  EXPECT_EQ(run.result.reason, "closed without a response");
}

TEST(Probe, DestroyedInFlightItIsSilentAndLeavesNothingOpen) {
  auto blackhole = sluice::testing::make_blackhole();
  ASSERT_TRUE(blackhole.listener.valid());
  control::ControlLoop loop;
  const size_t before = open_fds();
  bool called = false;
  {
    Probe p(loop, address_of("127.0.0.1:" + std::to_string(blackhole.port)), tcp_check(100ms),
            [&](CheckResult) { called = true; });
    loop.run_once(20ms);
    EXPECT_EQ(open_fds(), before + 1);
  }
  EXPECT_EQ(open_fds(), before);
  loop.run_once(200ms);  // past the timeout: the cancelled timer must not fire
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace sluice::proxy::health
