// Keep-alive on both sides and pipelining: many requests share one client
// connection and one pooled upstream connection; a pooled connection the
// upstream has closed is noticed, not used; pipelined requests are answered in
// order.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/upstream.hpp"
#include "tests/support/backend_launcher.hpp"

namespace sluice::testing {
namespace {

class HttpKeepAliveTest : public HttpSluiceTest {
 protected:
  HttpConfig single_cluster(const std::string& endpoint) {
    HttpConfig config;
    config.clusters = {{"a", {endpoint}}};
    config.routes = {"{ match: {}, cluster: a }"};
    return config;
  }
};

// The shared test backend counts its accepts in a stats file: 100 requests on
// one client connection must cost exactly one upstream connection.
TEST_F(HttpKeepAliveTest, HundredRequestsOnOneClientConnectionUseOneUpstreamConnection) {
  Backend backend = start_backend(dir_, {.mode = "http", .name = "ka", .stats = true});
  ASSERT_TRUE(start_sluice(single_cluster(backend.address())));
  HttpClient client = connect();
  ASSERT_TRUE(client.valid());
  for (int i = 0; i < 100; ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    ASSERT_TRUE(client.send(request("GET", "/r" + std::to_string(i), "t")));
    std::string error;
    auto r = client.read_response(Millis(5000), false, &error);
    ASSERT_TRUE(r) << error;
    ASSERT_EQ(r->status, 200);
    ASSERT_EQ(r->body, "backend ka\n");
    ASSERT_EQ(r->header("connection").value_or(""), "keep-alive");
  }
  EXPECT_EQ(backend.connections(), 1u);
  EXPECT_EQ(client.wait_closed(Millis(100)), StreamEnd::timeout) << "client connection closed";
}

// The pool outlives client connections: ten clients one after another, each
// closing after its request, still share a single upstream connection.
TEST_F(HttpKeepAliveTest, SuccessiveClientConnectionsReuseThePooledUpstream) {
  Upstream up(echo_handler("a"));
  ASSERT_TRUE(start_sluice(single_cluster(up.address())));
  for (int i = 0; i < 10; ++i) {
    SCOPED_TRACE("client " + std::to_string(i));
    HttpClient client = connect();
    ASSERT_TRUE(client.send(request("GET", "/", "t", "Connection: close\r\n")));
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("x-upstream-conn").value_or(""), "1");
    EXPECT_EQ(client.wait_closed(Millis(3000)), StreamEnd::eof);
  }
  EXPECT_EQ(up.connections(), 1u);
  // The client's "Connection: close" is hop-by-hop: the upstream never saw it.
  for (const auto& r : up.received()) EXPECT_EQ(r.header("connection"), std::nullopt) << r.raw_head;
}

// An upstream that closes idle keep-alive connections after 50 ms (FIN or RST).
// sluice must notice while the connection sits in its pool and open a new one,
// with no retry configured to paper over a stale pick.
class HttpStalePoolTest : public HttpKeepAliveTest, public ::testing::WithParamInterface<bool> {};

TEST_P(HttpStalePoolTest, ConnectionClosedByUpstreamWhileIdleIsNotReused) {
  const bool reset = GetParam();
  Upstream up([reset](UpstreamConn& c) {
    auto r = c.read_request();
    if (!r) return;
    c.write(http_response(200, "one", "X-Upstream-Conn: " + std::to_string(c.id()) + "\r\n"));
    std::this_thread::sleep_for(Millis(50));
    if (reset) c.reset();
  });
  ASSERT_TRUE(start_sluice(single_cluster(up.address())));
  HttpClient client = connect();
  for (int i = 1; i <= 3; ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    ASSERT_TRUE(client.send(request("GET", "/", "t")));
    std::string error;
    auto r = client.read_response(Millis(5000), false, &error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->status, 200) << r->raw_head << r->body;
    EXPECT_EQ(r->header("x-upstream-conn").value_or(""), std::to_string(i));
    std::this_thread::sleep_for(Millis(300));  // the upstream has closed it by now
  }
  EXPECT_EQ(up.connections(), 3u);
}

INSTANTIATE_TEST_SUITE_P(CloseKinds, HttpStalePoolTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Reset" : "Fin"; });

// The race a pool cannot see coming: the upstream answers with keep-alive and
// closes right after, so the next request may be written to a connection that is
// already half gone. A GET that got no byte back is safe to send again on a new
// connection (RFC 9112 §9.3.1); sluice does so when retries are configured.
TEST_F(HttpKeepAliveTest, UpstreamClosingRightAfterEachResponseStillServesEveryGet) {
  Upstream up([](UpstreamConn& c) {
    if (!c.read_request()) return;
    c.write(http_response(200, "ok"));
  });
  HttpConfig config = single_cluster(up.address());
  config.retries = "{ attempts: 2, on: [connect-failure] }";
  ASSERT_TRUE(start_sluice(config));
  HttpClient client = connect();
  for (int i = 0; i < 30; ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    ASSERT_TRUE(client.send(request("GET", "/", "t")));
    std::string error;
    auto r = client.read_response(Millis(5000), false, &error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->status, 200) << r->raw_head << r->body;
  }
}

// Three requests in one write, a POST with a body in the middle: three answers,
// in order, each with its own body.
TEST_F(HttpKeepAliveTest, PipelinedRequestsAreAnsweredInOrder) {
  Upstream up(echo_handler("a"));
  ASSERT_TRUE(start_sluice(single_cluster(up.address())));
  HttpClient client = connect();
  const std::string batch =
      request("GET", "/first", "t") + request("POST", "/second", "t", "", "hello pipeline") +
      request("GET", "/third", "t") + request("DELETE", "/fourth", "t", "", "x");
  ASSERT_TRUE(client.send(batch));
  const std::vector<std::pair<std::string, std::string>> want = {
      {"/first", ""}, {"/second", "hello pipeline"}, {"/third", ""}, {"/fourth", "x"}};
  for (const auto& [target, body] : want) {
    SCOPED_TRACE(target);
    std::string error;
    auto r = client.read_response(Millis(5000), false, &error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("x-upstream-target").value_or(""), target);
    EXPECT_EQ(r->body, body);
  }
  EXPECT_EQ(client.wait_closed(Millis(100)), StreamEnd::timeout);
  EXPECT_EQ(up.connections(), 1u);
}

// Pipelined answers from three sources (upstream, 404, direct response) keep
// their order too, and a slow upstream answer holds back the quick ones behind it.
TEST_F(HttpKeepAliveTest, PipelineMixesUpstreamNoRouteAndDirectResponsesInOrder) {
  Upstream up(echo_handler("a"));
  HttpConfig config;
  config.clusters = {{"a", {up.address()}}};
  config.routes = {"{ match: { path_prefix: /up/ }, cluster: a }",
                   "{ match: { path_exact: /direct }, direct_response: { status: 200, body: "
                   "\"direct\" } }"};
  ASSERT_TRUE(start_sluice(config));
  HttpClient client = connect();
  const std::string batch = request("GET", "/up/sleep/300", "t") + request("GET", "/direct", "t") +
                            request("GET", "/missing", "t") +
                            request("POST", "/up/x", "t", "", "last");
  ASSERT_TRUE(client.send(batch));
  auto r1 = client.read_response();
  auto r2 = client.read_response();
  auto r3 = client.read_response();
  auto r4 = client.read_response();
  ASSERT_TRUE(r1 && r2 && r3 && r4);
  EXPECT_EQ(r1->header("x-upstream-target").value_or(""), "/up/sleep/300");
  EXPECT_EQ(r2->body, "direct");
  EXPECT_EQ(r3->status, 404);
  EXPECT_EQ(r4->header("x-upstream-target").value_or(""), "/up/x");
  EXPECT_EQ(r4->body, "last");
}

}  // namespace
}  // namespace sluice::testing
