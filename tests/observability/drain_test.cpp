// Graceful drain through POST /drain and SIGTERM: /ready turns 503 at once, the
// listener stops accepting, idle keep-alive connections close, the request in
// flight completes, and the process exits 0 by itself; with a short
// drain_timeout a request that takes longer is cut and the exit is prompt.
#include <signal.h>

#include <functional>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class DrainTest : public ObsTest {
 protected:
  std::string yaml(const std::string& top = "") {
    add_backend("b0");
    port_ = free_loopback_port();
    return "workers: 1\n" + admin_yaml() + top + "log: { access: { path: " + log_path() + " } }\n" +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    timeouts: { request: 20s }\n"
           "    routes:\n"
           "      - { match: { path_prefix: / }, cluster: c }\n"
           "clusters:\n"
           "  - { name: c, endpoints: [ { address: " +
           backends_[0].address() + " } ] }\n";
  }

  // Starts a request that the backend answers after `ms`, on its own
  // connection, and waits until sluice has sent it upstream.
  HttpClient start_slow_request(int ms, double dispatched_before) {
    HttpClient c = connect_http(port_);
    EXPECT_TRUE(c.send(request("GET", "/sleep?ms=" + std::to_string(ms))));
    EXPECT_EQ(wait_metric("sluice_upstream_requests_total{cluster=\"c\"}", dispatched_before + 1),
              dispatched_before + 1);
    return c;
  }

  // The common course of a drain that `trigger` starts.
  void drain_with(const std::function<void()>& trigger) {
    ASSERT_TRUE(start_sluice(yaml()));
    HttpClient idle = connect_http(port_);
    ASSERT_EQ(roundtrip(idle, request("GET", "/first")).status, 200);
    HttpClient slow = start_slow_request(1500, 1);

    const auto start = Clock::now();
    trigger();
    // /ready says so at once (polled only because a signal arrives asynchronously).
    AdminReply ready;
    for (auto until = start + Millis(1000); Clock::now() < until;) {
      ready = admin("GET", "/ready");
      if (ready.status == 503) break;
    }
    EXPECT_EQ(ready.status, 503) << ready.error;
    EXPECT_EQ(ready.body, "draining\n");
    EXPECT_LT(Clock::now() - start, Millis(1000));
    // /live still answers: the process is alive, only not taking new work.
    EXPECT_EQ(admin("GET", "/live").status, 200);

    EXPECT_TRUE(wait_refused(port_, Millis(1000))) << "the listener still accepts while draining";
    EXPECT_EQ(idle.wait_closed(Millis(1000)), StreamEnd::eof)
        << "an idle keep-alive connection was not closed";

    std::string error;
    auto answer = slow.read_response(Millis(5000), false, &error);
    ASSERT_TRUE(answer.has_value()) << "the request in flight was not finished: " << error;
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(answer->body, "backend b0\n");
    EXPECT_EQ(answer->header("connection"), "close");
    EXPECT_EQ(slow.wait_closed(Millis(2000)), StreamEnd::eof);
    // Sluice lingers (up to 2 s) for the client's close after its last
    // response; a client that has its answer closes, and then sluice is done.
    slow = HttpClient();
    idle = HttpClient();
    const auto closed = Clock::now();

    ExitStatus st = sluice().wait(Millis(3000));
    EXPECT_TRUE(st.success()) << st.to_string() << "\n" << sluice().describe();
    EXPECT_LT(Clock::now() - closed, Millis(1000)) << "the exit was not prompt";
    // The access log was flushed before the exit: both requests are in it.
    auto lines = parse_access_log(read_file(log_path()), nullptr);
    ASSERT_EQ(lines.size(), 2u) << read_file(log_path());
    EXPECT_EQ(field(lines[1], "path"), "/sleep?ms=1500");
    EXPECT_EQ(int_field(lines[1], "status"), 200);
  }

  std::string log_path() const { return dir_.file("access.log"); }

  uint16_t port_ = 0;
};

TEST_F(DrainTest, PostDrainFinishesTheRequestInFlightThenExits) {
  drain_with([&] {
    AdminReply r = admin("POST", "/drain");
    EXPECT_EQ(r.status, 202) << r.error;
    EXPECT_EQ(r.body, "draining\n");
    // A reload while draining is refused.
    EXPECT_EQ(admin("POST", "/reload").status, 400);
  });
}

TEST_F(DrainTest, SigtermDrainsLikePostDrain) {
  drain_with([&] { ASSERT_EQ(::kill(sluice().pid(), SIGTERM), 0); });
}

TEST_F(DrainTest, SigintStopsItEvenWhenItsParentIgnoredSigint) {
  // A non-interactive shell starts background jobs with SIGINT ignored (the demo script
  // does). The kernel queues an ignored signal only while it is blocked, which sluice does
  // before any thread exists, so its signalfd still gets it.
  launcher_ = {"/bin/sh", "-c", "trap '' INT; exec \"$0\" \"$@\""};
  ASSERT_TRUE(start_sluice(yaml()));
  ASSERT_EQ(::kill(sluice().pid(), SIGINT), 0);
  ExitStatus st = sluice().wait(Millis(5000));
  EXPECT_TRUE(st.success()) << st.to_string() << "\n" << sluice().describe();
}

TEST_F(DrainTest, WithNothingInFlightTheProcessExitsAtOnce) {
  ASSERT_TRUE(start_sluice(yaml()));
  EXPECT_EQ(fetch_once(port_, request("GET", "/x")).status, 200);
  const auto start = Clock::now();
  AdminReply r = admin("POST", "/drain");
  EXPECT_EQ(r.status, 202) << r.error;
  ExitStatus st = sluice().wait(Millis(3000));
  EXPECT_TRUE(st.success()) << st.to_string() << "\n" << sluice().describe();
  EXPECT_LT(Clock::now() - start, Millis(1000));
  EXPECT_EQ(parse_access_log(read_file(log_path()), nullptr).size(), 1u);
}

TEST_F(DrainTest, DrainTimeoutCutsARequestThatTakesTooLong) {
  ASSERT_TRUE(start_sluice(yaml("drain_timeout: 500ms\n")));
  HttpClient slow = start_slow_request(5000, 0);
  const auto start = Clock::now();
  ASSERT_EQ(admin("POST", "/drain").status, 202);

  std::string error;
  auto answer = slow.read_response(Millis(4000), false, &error);
  EXPECT_FALSE(answer.has_value()) << "got " << answer->status << " although the drain timed out";
  EXPECT_TRUE(slow.eof() || error.starts_with("recv")) << "not closed: " << error;
  const auto cut = Clock::now() - start;
  EXPECT_GE(cut, Millis(400)) << "cut before drain_timeout";
  EXPECT_LT(cut, Millis(1500)) << "cut long after drain_timeout";

  ExitStatus st = sluice().wait(Millis(3000));
  EXPECT_TRUE(st.success()) << st.to_string() << "\n" << sluice().describe();
  EXPECT_LT(Clock::now() - start, Millis(1500)) << "the exit was not prompt";
  auto lines = parse_access_log(read_file(log_path()), nullptr);
  ASSERT_EQ(lines.size(), 1u) << read_file(log_path());
  EXPECT_EQ(field(lines[0], "path"), "/sleep?ms=5000");
  EXPECT_NE(int_field(lines[0], "status"), 200);
  EXPECT_EQ(field(lines[0], "error"), "drain-timeout");  // why it was cut
}

TEST_F(DrainTest, AReloadedDrainTimeoutIsTheOneThatApplies) {
  const std::string slow_config = yaml("drain_timeout: 30s\n");
  ASSERT_TRUE(start_sluice(slow_config));
  std::string fast = slow_config;
  fast.replace(fast.find("drain_timeout: 30s"), 18, "drain_timeout: 500ms");
  write_config(fast);
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  HttpClient slow = start_slow_request(5000, 0);
  const auto start = Clock::now();
  ASSERT_EQ(::kill(sluice().pid(), SIGTERM), 0);
  ExitStatus st = sluice().wait(Millis(4000));
  EXPECT_TRUE(st.success()) << st.to_string() << "\n" << sluice().describe();
  EXPECT_LT(Clock::now() - start, Millis(1500)) << "the reloaded drain_timeout was not used";
}

}  // namespace
}  // namespace sluice::testing
