// Heads written back out: proxy rewriting of requests, responses to the client,
// and sluice's own error responses. Exact bytes.
#include <gtest/gtest.h>

#include <string>

#include "http_test_util.hpp"
#include "proxy/l7/h1/serialize.hpp"

namespace sluice::proxy::http {
namespace {

struct Parsed {
  HeadParser parser;
  explicit Parsed(std::string_view raw, bool request = true, std::string_view method = "GET")
      : parser(request ? HeadParser::request({}) : HeadParser::response({}, method)) {
    size_t consumed = 0;
    EXPECT_EQ(parser.feed(raw, consumed), Status::done) << parser.error().code;
  }
  const Head& head() const { return parser.head(); }
};

std::string forward(std::string_view raw, const ForwardContext& ctx) {
  Parsed p(raw);
  std::string out;
  serialize_request(p.head(), ctx, out);
  return out;
}

TEST(SerializeRequestTest, FullExampleExactBytes) {
  const std::string raw =
      "POST http://api.example.com/v1/items?id=7 HTTP/1.1\r\n"
      "Host: api.example.com\r\n"
      "Connection: keep-alive, X-Secret\r\n"
      "Keep-Alive: timeout=5\r\n"
      "X-Secret: s\r\n"
      "TE: trailers\r\n"
      "Trailer: Checksum\r\n"
      "Proxy-Authorization: Basic abc\r\n"
      "Proxy: http://evil\r\n"
      "Upgrade: h2c\r\n"
      "X-Forwarded-For: 203.0.113.9\r\n"
      "X-Forwarded-Proto: https\r\n"
      "X-Forwarded-Host: evil.example\r\n"
      "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
      "Content-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n";
  const ForwardContext ctx{.client_ip = "198.51.100.4", .proto = "http", .request_id = "req-42"};
  EXPECT_EQ(forward(raw, ctx),
            "POST /v1/items?id=7 HTTP/1.1\r\n"
            "Host: api.example.com\r\n"
            "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
            "Content-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n"
            "X-Forwarded-For: 203.0.113.9, 198.51.100.4\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: api.example.com\r\n"
            "X-Request-Id: req-42\r\n"
            "\r\n");
}

TEST(SerializeRequestTest, ConnectionCannotStripHostOrFraming) {
  const std::string out = forward(
      "POST / HTTP/1.1\r\nHost: a\r\nConnection: Host, Content-Length, x-a\r\nX-A: 1\r\n"
      "Content-Length: 3\r\n\r\n",
      {"10.0.0.1"});
  EXPECT_NE(out.find("Host: a\r\n"), std::string::npos);
  EXPECT_NE(out.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_EQ(out.find("X-A"), std::string::npos);
  EXPECT_EQ(out.find("Connection"), std::string::npos);
}

TEST(SerializeRequestTest, XffJoinsEveryEarlierHop) {
  const std::string out = forward(
      "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2\r\n"
      "x-forwarded-for: 3.3.3.3\r\n\r\n",
      {"::1"});
  EXPECT_NE(out.find("X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, ::1\r\n"), std::string::npos);
  EXPECT_EQ(out.find("x-forwarded-for"), std::string::npos);
  const std::string fresh = forward("GET / HTTP/1.1\r\nHost: a\r\n\r\n", {"10.0.0.1"});
  EXPECT_NE(fresh.find("X-Forwarded-For: 10.0.0.1\r\n"), std::string::npos);
}

TEST(SerializeRequestTest, RequestIdKeptOrGenerated) {
  const ForwardContext ctx{.client_ip = "10.0.0.1", .proto = "https", .request_id = "generated"};
  const std::string kept = forward("GET / HTTP/1.1\r\nHost: a\r\nX-Request-ID: mine\r\n\r\n", ctx);
  EXPECT_NE(kept.find("X-Request-ID: mine\r\n"), std::string::npos);
  EXPECT_EQ(kept.find("generated"), std::string::npos);
  EXPECT_NE(kept.find("X-Forwarded-Proto: https\r\n"), std::string::npos);
  const std::string made = forward("GET / HTTP/1.1\r\nHost: a\r\n\r\n", ctx);
  EXPECT_NE(made.find("X-Request-Id: generated\r\n"), std::string::npos);
}

TEST(SerializeRequestTest, ConnectionAsTheCallerSays) {
  ForwardContext ctx{"10.0.0.1"};
  ctx.keep_alive = false;
  const std::string close = forward("GET / HTTP/1.1\r\nHost: a\r\n\r\n", ctx);
  EXPECT_NE(close.find("Connection: close\r\n\r\n"), std::string::npos);

  const std::string ws =
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  ForwardContext up{"10.0.0.1"};
  up.upgrade = true;
  const std::string upgraded = forward(ws, up);
  EXPECT_NE(upgraded.find("Upgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(upgraded.find("Connection: upgrade\r\n\r\n"), std::string::npos);
  const std::string plain = forward(ws, {"10.0.0.1"});
  EXPECT_EQ(plain.find("Upgrade"), std::string::npos);
  EXPECT_EQ(plain.find("Connection"), std::string::npos);
}

TEST(SerializeRequestTest, Http10GetsHostAndVersion11) {
  const std::string out = forward("GET /x HTTP/1.0\r\nAccept: */*\r\n\r\n", {"10.0.0.1"});
  EXPECT_EQ(out,
            "GET /x HTTP/1.1\r\nAccept: */*\r\nHost:\r\nX-Forwarded-For: 10.0.0.1\r\n"
            "X-Forwarded-Proto: http\r\n\r\n");
}

TEST(SerializeRequestTest, AppendsToTheBuffer) {
  Parsed p("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string out = "prefix";
  serialize_request(p.head(), {"1.2.3.4"}, out);
  EXPECT_EQ(out.rfind("prefixGET / HTTP/1.1\r\n", 0), 0u);
}

TEST(SerializeResponseTest, HopByHopRemovedConnectionSet) {
  Parsed p(
      "HTTP/1.1 200 OK\r\nConnection: x-hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
      "Proxy-Authenticate: Basic\r\nContent-Length: 2\r\nServer: up\r\n\r\n",
      false);
  std::string out;
  serialize_response(p.head(), true, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: up\r\nConnection: keep-alive\r\n\r\n");
  out.clear();
  serialize_response(p.head(), false, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: up\r\nConnection: close\r\n\r\n");
}

TEST(SerializeResponseTest, UntilCloseForcesClose) {
  Parsed p("HTTP/1.0 200 OK\r\nServer: up\r\n\r\n", false);
  std::string out;
  serialize_response(p.head(), true, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nServer: up\r\nConnection: close\r\n\r\n");
}

TEST(SerializeResponseTest, SwitchingProtocolsAndInterim) {
  Parsed up("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            false);
  std::string out;
  serialize_response(up.head(), true, out);
  EXPECT_EQ(
      out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
  Parsed cont("HTTP/1.1 100 Continue\r\n\r\n", false);
  out.clear();
  serialize_response(cont.head(), true, out);
  EXPECT_EQ(out, "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(ErrorResponseTest, DefaultBody) {
  std::string out;
  error_response(400, "bad-framing", false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 400 Bad Request\r\nx-sluice-error: bad-framing\r\n"
            "Content-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\n"
            "bad-framing\n");
}

TEST(ErrorResponseTest, GivenBodyKeepAlive) {
  std::string out;
  error_response(404, "no-route", true, out, "no route\n");
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\nx-sluice-error: no-route\r\n"
            "Content-Type: text/plain\r\nContent-Length: 9\r\n\r\nno route\n");
}

TEST(ErrorResponseTest, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(reason_phrase(799), "Unknown");
}

}  // namespace
}  // namespace sluice::proxy::http
