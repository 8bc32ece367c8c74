// Slow clients: a request head must arrive whole within the listener's header
// timeout (timeouts.header, 2 s here instead of the default 10 s), however the
// bytes trickle in. Waits out that timeout once, with all the slow clients in
// parallel.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/upstream.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class HttpSlowlorisTest : public HttpSluiceTest {};

TEST_F(HttpSlowlorisTest, SlowHeadsAreCutOffByTheHeaderTimeout) {
  Upstream up(echo_handler("a"));
  HttpConfig config;
  config.clusters = {{"a", {up.address()}}};
  config.routes = {"{ match: {}, cluster: a }"};
  // Idle far beyond the header timeout, so only the header timeout can act.
  config.timeouts = "{ connect: 1s, request: 60s, idle: 60s, header: 2s }";
  ASSERT_TRUE(start_sluice(config));

  const auto start = Clock::now();
  // Half a head, then silence.
  HttpClient stalled = connect();
  ASSERT_TRUE(stalled.send("GET / HTTP/1.1\r\nHost: t\r\nX-Partial: "));
  // Sends nothing at all.
  HttpClient silent = connect();
  // A healthy keep-alive client for contrast: served at once, then idle
  // between requests (the header timer is for heads only).
  HttpClient healthy = connect();
  ASSERT_TRUE(healthy.send(request("GET", "/", "t")));
  auto ok = healthy.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);

  // A trickler: one byte every 100 ms, never finishing the head. Progress must
  // not extend the deadline.
  const std::string head = "GET / HTTP/1.1\r\nHost: t\r\nX-Trickle: " + std::string(200, 'a');
  HttpClient trickler = connect();
  std::thread trickle([&] {
    for (char ch : head) {
      if (!trickler.send(std::string(1, ch), Millis(1000))) return;  // closed on us
      std::this_thread::sleep_for(Millis(100));
      if (Clock::now() - start > std::chrono::seconds(6)) return;
    }
  });

  auto expect_timeout_response = [&](HttpClient& c, const char* who) {
    SCOPED_TRACE(who);
    std::string error;
    auto r = c.read_response(Millis(6000), false, &error);
    const auto took = std::chrono::duration_cast<Millis>(Clock::now() - start);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->status, 408);
    EXPECT_EQ(r->header("x-sluice-error").value_or("<none>"), "header-timeout");
    EXPECT_EQ(r->header("connection").value_or(""), "close");
    EXPECT_EQ(c.wait_closed(Millis(3000)), StreamEnd::eof);
    EXPECT_GE(took.count(), 1700);  // the configured 2 s, not the default 10 s
    EXPECT_LE(took.count(), 4000);
  };
  expect_timeout_response(stalled, "half a head");
  expect_timeout_response(trickler, "one byte at a time");
  trickle.join();

  // The silent one is closed without a response (it asked nothing).
  std::string extra;
  EXPECT_EQ(silent.wait_closed(Millis(2000), &extra), StreamEnd::eof) << extra;
  // 2 s header timeout, checked on a 250 ms tick; the rest is slack for a
  // loaded 2-core machine.
  EXPECT_LE(std::chrono::duration_cast<Millis>(Clock::now() - start).count(), 5500);

  // The idle keep-alive connection outlived the header timeout and still works.
  ASSERT_TRUE(healthy.send(request("GET", "/again", "t")));
  ok = healthy.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(up.requests(), 2u);
}

}  // namespace
}  // namespace sluice::testing
