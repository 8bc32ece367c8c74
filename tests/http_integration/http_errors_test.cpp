// Errors sluice generates itself, end to end: client-side limits (400/414/431),
// upstream failures (502 refused / reset / closed / malformed, 503 nothing left,
// 504 too slow) — each promptly, with x-sluice-error and a short body — and the
// retry rules: connect failures move on, configured statuses are retried for
// idempotent requests only.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/upstream.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class HttpErrorsTest : public HttpSluiceTest {
 protected:
  bool start_cluster(const std::vector<std::string>& endpoints, const std::string& retries,
                     const std::string& timeouts = "{ connect: 1s, request: 10s, idle: 30s }") {
    HttpConfig config;
    config.clusters = {{"a", endpoints}};
    config.routes = {"{ match: {}, cluster: a }"};
    config.retries = retries;
    config.timeouts = timeouts;
    return start_sluice(config);
  }

  // Sends one request on a new connection and expects sluice's own error
  // response — status, code, body "<code>\n", "Connection: close" when the
  // connection ends — within `within`.
  void expect_error(const std::string& raw, int status, const std::string& code, bool closes = true,
                    Millis within = Millis(3000)) {
    HttpClient client = connect();
    ASSERT_TRUE(client.send(raw));
    const auto start = Clock::now();
    std::string error;
    auto r = client.read_response(within, false, &error);
    ASSERT_TRUE(r) << "no response within " << within.count() << " ms: " << error;
    const auto took = std::chrono::duration_cast<Millis>(Clock::now() - start);
    EXPECT_EQ(r->status, status) << r->raw_head << r->body;
    EXPECT_EQ(r->header("x-sluice-error").value_or("<none>"), code);
    EXPECT_EQ(r->body, code + "\n");
    EXPECT_EQ(r->header("content-type").value_or(""), "text/plain");
    if (closes) {
      EXPECT_EQ(r->header("connection").value_or(""), "close");
      EXPECT_EQ(client.wait_closed(Millis(3000)), StreamEnd::eof);
    }
    last_took_ = took;
  }

  Millis last_took_{0};
};

// ---- client errors ----

TEST_F(HttpErrorsTest, ClientLimitsAndGarbageAreRejected) {
  Upstream up(echo_handler("a"));
  ASSERT_TRUE(start_cluster({up.address()}, "{ attempts: 0 }"));
  {
    SCOPED_TRACE("garbage");
    expect_error("HELLO\r\n\r\n", 400, "bad-method");
  }
  {
    SCOPED_TRACE("request line too long");
    expect_error(request("GET", "/" + std::string(9000, 'a'), "t"), 414, "request-line-too-long");
  }
  {
    SCOPED_TRACE("header section too large");
    expect_error(request("GET", "/", "t", "X-Big: " + std::string(70000, 'b') + "\r\n"), 431,
                 "header-too-large");
  }
  {
    SCOPED_TRACE("too many headers");
    std::string many;
    for (int i = 0; i < 101; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    expect_error(request("GET", "/", "t", many), 431, "too-many-headers");
  }
  {
    SCOPED_TRACE("unsupported version");
    expect_error("GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505, "unsupported-version");
  }
  {
    SCOPED_TRACE("unsupported expectation");
    expect_error(request("GET", "/", "t", "Expect: magic\r\n"), 417, "unsupported-expectation");
  }
  // Just under the limits passes.
  auto r = fetch(request("GET", "/" + std::string(8000, 'a'), "t"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  std::string hundred;
  for (int i = 0; i < 99; ++i) hundred += "X-H" + std::to_string(i) + ": v\r\n";
  r = fetch(request("GET", "/", "t", hundred));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(up.requests(), 2u) << "a rejected request reached the upstream";
}

// ---- upstream failures ----

TEST_F(HttpErrorsTest, ConnectRefusedWithoutRetriesIs502) {
  uint16_t dead_port = 0;
  Socket dead = reserve_refusing_port(&dead_port);
  ASSERT_TRUE(start_cluster({loopback_address(dead_port)}, "{ attempts: 0 }"));
  expect_error(request("GET", "/", "t"), 502, "connect-failed");
  EXPECT_LT(last_took_.count(), 1000);
}

TEST_F(HttpErrorsTest, ConnectTimeoutIs504) {
  Blackhole hole = make_blackhole();
  ASSERT_GT(hole.port, 0);
  ASSERT_TRUE(start_cluster({loopback_address(hole.port)}, "{ attempts: 0 }",
                            "{ connect: 300ms, request: 10s, idle: 30s }"));
  expect_error(request("GET", "/", "t"), 504, "connect-timeout", true, Millis(3000));
}

// The upstream accepts, reads the request and resets: nothing can be relayed.
TEST_F(HttpErrorsTest, UpstreamResetBeforeResponseIs502) {
  Upstream up([](UpstreamConn& c) {
    if (c.read_request()) c.reset();
  });
  ASSERT_TRUE(start_cluster({up.address()}, "{ attempts: 0 }"));
  expect_error(request("GET", "/", "t"), 502, "upstream-reset");
}

TEST_F(HttpErrorsTest, UpstreamCloseBeforeResponseIs502) {
  Upstream up([](UpstreamConn& c) { c.read_request(); });  // returns: FIN
  ASSERT_TRUE(start_cluster({up.address()}, "{ attempts: 0 }"));
  expect_error(request("GET", "/", "t"), 502, "upstream-closed");
}

// An upstream whose response head is malformed: 502, and the bad connection is
// not reused (each case is a fresh request; the upstream counts connections).
TEST_F(HttpErrorsTest, MalformedUpstreamResponsesAre502) {
  const std::vector<std::string> bad = {
      "garbage\r\n\r\n",
      "HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n",
      "HTTP/3.0 200 OK\r\nContent-Length: 0\r\n\r\n",
  };
  std::atomic<size_t> next{0};
  Upstream up([&](UpstreamConn& c) {
    while (c.read_request()) {
      const size_t i = next++;
      if (i >= bad.size()) return;
      c.write(bad[i]);
    }
  });
  ASSERT_TRUE(start_cluster({up.address()}, "{ attempts: 0 }"));
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE("upstream sent: " + bad[i]);
    expect_error(request("GET", "/", "t"), 502, "bad-response");
  }
  EXPECT_EQ(up.connections(), bad.size()) << "a connection that sent a bad response was reused";
}

TEST_F(HttpErrorsTest, UpstreamSlowerThanTheRequestTimeoutIs504) {
  Upstream up([](UpstreamConn& c) {
    if (c.read_request()) c.read_until_eof(Millis(20000));  // never answers
  });
  ASSERT_TRUE(
      start_cluster({up.address()}, "{ attempts: 0 }", "{ connect: 1s, request: 1s, idle: 30s }"));
  expect_error(request("GET", "/", "t"), 504, "upstream-timeout", true, Millis(5000));
  // The timer wheel ticks every 250 ms: 1 s means 1 to ~1.5 s.
  EXPECT_GE(last_took_.count(), 900);
  EXPECT_LE(last_took_.count(), 2500);
}

// A per-route request timeout overrides the listener's.
TEST_F(HttpErrorsTest, RouteRequestTimeoutOverridesTheListener) {
  Upstream up([](UpstreamConn& c) {
    for (;;) {
      auto r = c.read_request();
      if (!r) return;
      if (r->target == "/slow") std::this_thread::sleep_for(Millis(1500));
      c.write(http_response(200, "done"));
    }
  });
  HttpConfig config;
  config.clusters = {{"a", {up.address()}}};
  config.routes = {"{ match: { path_exact: /slow }, cluster: a, timeouts: { request: 500ms } }",
                   "{ match: {}, cluster: a }"};
  config.timeouts = "{ connect: 1s, request: 5s, idle: 30s }";
  ASSERT_TRUE(start_sluice(config));
  expect_error(request("GET", "/slow", "t"), 504, "upstream-timeout");
  auto r = fetch(request("GET", "/fast", "t"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// Every endpoint refuses and retries are allowed: once all were tried there is
// no endpoint left to send the request to.
// Every endpoint refused: a connect failure (502), whether or not retries were
// configured; 503 is for a cluster with no endpoint to try at all.
TEST_F(HttpErrorsTest, AllEndpointsDownWithRetriesLeftIs502) {
  uint16_t p1 = 0, p2 = 0;
  Socket d1 = reserve_refusing_port(&p1);
  Socket d2 = reserve_refusing_port(&p2);
  ASSERT_TRUE(start_cluster({loopback_address(p1), loopback_address(p2)},
                            "{ attempts: 3, on: [connect-failure] }"));
  expect_error(request("GET", "/", "t"), 502, "connect-failed");
}

// ---- retries ----

TEST_F(HttpErrorsTest, ConnectFailureMovesToTheNextEndpoint) {
  uint16_t dead_port = 0;
  Socket dead = reserve_refusing_port(&dead_port);
  Upstream good(echo_handler("good"));
  ASSERT_TRUE(start_cluster({loopback_address(dead_port), good.address()},
                            "{ attempts: 1, on: [connect-failure] }"));
  // Round robin starts anywhere: six requests meet the dead endpoint first at
  // least three times. A POST with a body is fine too: nothing was sent yet.
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    auto r = fetch(i % 2 ? request("POST", "/p", "t", "", "body" + std::to_string(i))
                         : request("GET", "/g", "t"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->raw_head << r->body;
    EXPECT_EQ(r->header("x-upstream-name").value_or(""), "good");
    if (i % 2) {
      EXPECT_EQ(r->body, "body" + std::to_string(i));
    }
  }
}

class HttpStatusRetryTest : public HttpErrorsTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(start_cluster({bad_.address(), good_.address()},
                              "{ attempts: 1, on: [connect-failure, 503] }"));
  }
  Upstream bad_{[](UpstreamConn& c) {
    while (c.read_request()) c.write(http_response(503, "overloaded", "X-Upstream-Name: bad\r\n"));
  }};
  Upstream good_{echo_handler("good")};
};

TEST_F(HttpStatusRetryTest, IdempotentRequestIsRetriedOnAnotherEndpoint) {
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    auto r = fetch(request(i % 2 ? "PUT" : "GET", "/", "t"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("x-upstream-name").value_or(""), "good");
  }
  EXPECT_GE(bad_.requests(), 3u) << "the 503 endpoint was never tried first";
  EXPECT_EQ(good_.requests(), 6u);
}

TEST_F(HttpStatusRetryTest, PostIsNotRetried) {
  int got_503 = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = fetch(request("POST", "/", "t", "", "once"));
    ASSERT_TRUE(r);
    if (r->status == 503) {
      ++got_503;
      EXPECT_EQ(r->body, "overloaded");  // the upstream's own 503, passed through
      EXPECT_EQ(r->header("x-upstream-name").value_or(""), "bad");
    } else {
      EXPECT_EQ(r->status, 200);
    }
  }
  // Each POST reached exactly one upstream.
  EXPECT_EQ(bad_.requests() + good_.requests(), 6u);
  EXPECT_EQ(static_cast<uint64_t>(got_503), bad_.requests());
  EXPECT_GE(got_503, 3);
}

// The 503 of the last endpoint stands when there is nothing left to try.
TEST_F(HttpErrorsTest, RetryableStatusFromTheOnlyEndpointIsPassedThrough) {
  Upstream bad([](UpstreamConn& c) {
    while (c.read_request()) c.write(http_response(503, "busy"));
  });
  ASSERT_TRUE(start_cluster({bad.address()}, "{ attempts: 2, on: [503] }"));
  auto r = fetch(request("GET", "/", "t"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "busy");
  EXPECT_EQ(bad.requests(), 1u);
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// max_request_body: a declared length over the route's limit is refused with
// 413 before any upstream is contacted; a chunked body is cut off with 413 as
// soon as it grows past the limit; a route can raise the listener's limit.
TEST_F(HttpErrorsTest, BodyOverTheLimitIs413) {
  Upstream up(echo_handler("a"));
  HttpConfig config;
  config.clusters = {{"a", {up.address()}}};
  config.routes = {"{ match: { path_prefix: /big }, cluster: a, max_request_body: 8KiB }",
                   "{ match: {}, cluster: a, max_request_body: 1KiB }"};
  ASSERT_TRUE(start_sluice(config));
  const std::string body(2000, 'x');
  {
    SCOPED_TRACE("content-length");
    expect_error(request("POST", "/", "t", "", body), 413, "body-too-large");
    EXPECT_EQ(up.connections(), 0u) << "the upstream was contacted for a refused body";
  }
  {
    SCOPED_TRACE("chunked");
    std::string chunked = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i) chunked += "200\r\n" + std::string(512, 'y') + "\r\n";
    chunked += "0\r\n\r\n";
    expect_error(chunked, 413, "body-too-large");
  }
  {
    SCOPED_TRACE("route with a higher limit");
    HttpClient client = connect();
    ASSERT_TRUE(client.send(request("POST", "/big", "t", "", body)));
    auto r = client.read_response(Millis(3000));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->raw_head << r->body;
  }
}

}  // namespace
}  // namespace sluice::testing
