// What the upstream actually receives (and the client gets back): forwarding
// headers added, request ids generated or kept, trace context untouched, and
// hop-by-hop fields removed in both directions.
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/upstream.hpp"

namespace sluice::testing {
namespace {

class HttpHeadersTest : public HttpSluiceTest {
 protected:
  void SetUp() override {
    HttpConfig config;
    config.clusters = {{"a", {up_.address()}}};
    config.routes = {"{ match: {}, cluster: a }"};
    ASSERT_TRUE(start_sluice(config));
  }

  // Sends `raw` on a new connection, expects 200, returns what the upstream saw.
  UpstreamRequest forwarded(const std::string& raw) {
    auto r = fetch(raw);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->raw_head : "no response");
    auto seen = up_.last();
    EXPECT_TRUE(seen);
    return seen.value_or(UpstreamRequest{});
  }

  Upstream up_{echo_handler("a")};
};

TEST_F(HttpHeadersTest, ForwardingHeadersAreSet) {
  UpstreamRequest seen = forwarded(request("GET", "/x?y=1", "api.example.com:8443"));
  EXPECT_EQ(seen.header("x-forwarded-for").value_or("<none>"), "127.0.0.1");
  EXPECT_EQ(seen.header("x-forwarded-proto").value_or("<none>"), "http");
  EXPECT_EQ(seen.header("x-forwarded-host").value_or("<none>"), "api.example.com:8443");
  EXPECT_EQ(seen.header("host").value_or("<none>"), "api.example.com:8443");
  EXPECT_EQ(seen.target, "/x?y=1");
  EXPECT_EQ(seen.count("x-forwarded-for"), 1u);
}

TEST_F(HttpHeadersTest, XForwardedForIsAppendedToEarlierHops) {
  UpstreamRequest seen =
      forwarded(request("GET", "/", "t", "X-Forwarded-For: 203.0.113.7, 198.51.100.2\r\n"));
  EXPECT_EQ(seen.header("x-forwarded-for").value_or("<none>"),
            "203.0.113.7, 198.51.100.2, 127.0.0.1");
  // Two fields are one list (RFC 9110 §5.3): both hops kept, in order, in one field.
  seen = forwarded(request("GET", "/", "t",
                           "X-Forwarded-For: 203.0.113.7\r\nX-Other: 1\r\n"
                           "X-Forwarded-For: 198.51.100.2\r\n"));
  EXPECT_EQ(seen.count("x-forwarded-for"), 1u) << seen.raw_head;
  EXPECT_EQ(seen.header("x-forwarded-for").value_or("<none>"),
            "203.0.113.7, 198.51.100.2, 127.0.0.1");
}

// A client cannot claim to have come over TLS or to a different host.
TEST_F(HttpHeadersTest, ClientSuppliedProtoAndHostAreReplaced) {
  UpstreamRequest seen =
      forwarded(request("GET", "/", "real.example",
                        "X-Forwarded-Proto: https\r\nX-Forwarded-Host: spoofed.example\r\n"));
  EXPECT_EQ(seen.count("x-forwarded-proto"), 1u);
  EXPECT_EQ(seen.header("x-forwarded-proto").value_or("<none>"), "http");
  EXPECT_EQ(seen.count("x-forwarded-host"), 1u);
  EXPECT_EQ(seen.header("x-forwarded-host").value_or("<none>"), "real.example");
}

TEST_F(HttpHeadersTest, RequestIdIsGeneratedWhenAbsentAndUniquePerRequest) {
  UpstreamRequest first = forwarded(request("GET", "/", "t"));
  UpstreamRequest second = forwarded(request("GET", "/", "t"));
  const std::string id1 = first.header("x-request-id").value_or("");
  const std::string id2 = second.header("x-request-id").value_or("");
  ASSERT_EQ(id1.size(), 32u) << id1;
  for (char c : id1) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c))) << id1;
  EXPECT_NE(id1, id2);
  EXPECT_EQ(first.count("x-request-id"), 1u);
}

TEST_F(HttpHeadersTest, RequestIdAndTraceContextPassThroughUnchanged) {
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  UpstreamRequest seen = forwarded(request(
      "GET", "/", "t",
      "X-Request-Id: my-id-123\r\ntraceparent: " + traceparent + "\r\ntracestate: k=v\r\n"));
  EXPECT_EQ(seen.count("x-request-id"), 1u);
  EXPECT_EQ(seen.header("x-request-id").value_or("<none>"), "my-id-123");
  EXPECT_EQ(seen.header("traceparent").value_or("<none>"), traceparent);
  EXPECT_EQ(seen.header("tracestate").value_or("<none>"), "k=v");
}

TEST_F(HttpHeadersTest, HopByHopRequestHeadersAreRemoved) {
  UpstreamRequest seen =
      forwarded(request("GET", "/", "t",
                        "Connection: keep-alive, X-Hop-A, x-hop-b\r\n"
                        "X-Hop-A: 1\r\nX-Hop-B: 2\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
                        "Trailer: X-Checksum\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                        "Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-End-To-End: kept\r\n"
                        "Cookie: a=b\r\n"));
  for (const char* name : {"connection", "x-hop-a", "x-hop-b", "keep-alive", "te", "trailer",
                           "proxy-authorization", "proxy-connection", "upgrade"}) {
    EXPECT_EQ(seen.count(name), 0u) << name << " reached the upstream:\n" << seen.raw_head;
  }
  EXPECT_EQ(seen.header("x-end-to-end").value_or("<none>"), "kept");
  EXPECT_EQ(seen.header("cookie").value_or("<none>"), "a=b");
}

// A Connection header naming a framing field must not strip it: the body after
// the head is forwarded verbatim and needs its Content-Length.
TEST_F(HttpHeadersTest, ConnectionCannotStripFramingOrHost) {
  UpstreamRequest seen =
      forwarded(request("POST", "/", "t", "Connection: Content-Length, Host\r\n", "abcdef"));
  EXPECT_EQ(seen.header("content-length").value_or("<none>"), "6");
  EXPECT_EQ(seen.header("host").value_or("<none>"), "t");
  EXPECT_EQ(seen.body, "abcdef");
}

class HttpResponseHeadersTest : public HttpSluiceTest {};

TEST_F(HttpResponseHeadersTest, HopByHopResponseHeadersAreRemoved) {
  Upstream up([](UpstreamConn& c) {
    while (c.read_request())
      c.write(http_response(200, "ok",
                            "Connection: X-Resp-Hop\r\nX-Resp-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
                            "Proxy-Authenticate: Basic\r\nUpgrade: h2c\r\nX-Kept: yes\r\n"
                            "Set-Cookie: s=1\r\n"));
  });
  HttpConfig config;
  config.clusters = {{"a", {up.address()}}};
  config.routes = {"{ match: {}, cluster: a }"};
  ASSERT_TRUE(start_sluice(config));
  auto r = fetch(request("GET", "/", "t"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  for (const char* name : {"x-resp-hop", "keep-alive", "proxy-authenticate", "upgrade"})
    EXPECT_EQ(r->count(name), 0u) << name << " reached the client:\n" << r->raw_head;
  EXPECT_EQ(r->count("connection"), 1u);
  EXPECT_EQ(r->header("connection").value_or(""), "keep-alive");
  EXPECT_EQ(r->header("x-kept").value_or(""), "yes");
  EXPECT_EQ(r->header("set-cookie").value_or(""), "s=1");
  EXPECT_EQ(r->body, "ok");
}

}  // namespace
}  // namespace sluice::testing
