// Well-formed requests: what the parsed Head says, and exact consumed counts.
#include <gtest/gtest.h>

#include <string>

#include "http_test_util.hpp"

namespace sluice::proxy::http {
namespace {

using test::parse_request;

// Parses one request head (whole) and keeps the parser alive for the Head's views.
struct Parsed {
  HeadParser parser = HeadParser::request({});
  Status status;
  size_t consumed = 0;
  explicit Parsed(std::string_view raw) {
    status = parser.feed(raw, consumed);
    EXPECT_EQ(status, Status::done) << parser.error().code;
  }
  const Head& head() const { return parser.head(); }
};

TEST(AcceptTest, SimpleGet) {
  const std::string raw =
      "GET /a/b?x=1&y HTTP/1.1\r\nHost: Example.com:8080\r\nUser-Agent: t\r\n\r\n";
  const auto r = parse_request(raw);
  ASSERT_EQ(r.status, Status::done) << test::describe(r);
  EXPECT_EQ(r.end, raw.size());
  Parsed p(raw);
  const Head& h = p.head();
  EXPECT_TRUE(h.is_request);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/a/b?x=1&y");
  EXPECT_EQ(h.path, "/a/b");
  EXPECT_TRUE(h.has_query);
  EXPECT_EQ(h.query, "x=1&y");
  EXPECT_EQ(h.version, 11);
  EXPECT_EQ(h.host, "Example.com:8080");
  ASSERT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(h.headers[1].name, "User-Agent");
  EXPECT_EQ(h.headers[1].value, "t");
  EXPECT_EQ(h.find("user-agent"), &h.headers[1]);
  EXPECT_EQ(h.find("x-none"), nullptr);
  EXPECT_EQ(h.framing, Framing::none);
  EXPECT_FALSE(h.has_body());
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.upgrade);
  EXPECT_FALSE(h.expect_continue);
}

TEST(AcceptTest, ValuesAreTrimmedAndMayHoldTabsAndObsText) {
  Parsed p("GET / HTTP/1.1\r\nHost:a\r\nX:  a\tb \xe9 \t\r\nEmpty:\r\n\r\n");
  ASSERT_EQ(p.head().headers.size(), 3u);
  EXPECT_EQ(p.head().headers[1].value, "a\tb \xe9");
  EXPECT_EQ(p.head().headers[2].value, "");
}

TEST(AcceptTest, PostWithContentLength) {
  const std::string head = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n";
  const auto r = parse_request(head + "hello world");
  ASSERT_EQ(r.status, Status::done);
  EXPECT_EQ(r.end, head.size());
  Parsed p(head + "hello world");
  EXPECT_EQ(p.consumed, head.size());
  EXPECT_EQ(p.head().framing, Framing::content_length);
  EXPECT_EQ(p.head().content_length, 11u);
  EXPECT_TRUE(p.head().has_body());
}

TEST(AcceptTest, ContentLengthZeroAndLeadingZeros) {
  Parsed zero("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(zero.head().framing, Framing::content_length);
  EXPECT_FALSE(zero.head().has_body());
  Parsed padded("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n");
  EXPECT_EQ(padded.head().content_length, 7u);
  Parsed big("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n");
  EXPECT_EQ(big.head().content_length, UINT64_MAX);
}

TEST(AcceptTest, ChunkedCaseInsensitive) {
  Parsed p("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
  EXPECT_EQ(p.head().framing, Framing::chunked);
  EXPECT_TRUE(p.head().has_body());
}

TEST(AcceptTest, PipelinedRequestsInOneBuffer) {
  const std::string a = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string b = "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
  const std::string c = "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  const std::string all = a + b + "xyz" + c;
  auto p = HeadParser::request({});
  size_t consumed = 0;
  std::string_view rest = all;

  ASSERT_EQ(p.feed(rest, consumed), Status::done);
  EXPECT_EQ(consumed, a.size());
  EXPECT_EQ(p.head().path, "/1");
  rest.remove_prefix(consumed);

  p.reset();
  ASSERT_EQ(p.feed(rest, consumed), Status::done);
  EXPECT_EQ(consumed, b.size());
  EXPECT_EQ(p.head().path, "/2");
  rest.remove_prefix(consumed);
  BodyScanner body(p.head());
  ASSERT_EQ(body.feed(rest, consumed), Status::done);
  EXPECT_EQ(consumed, 3u);
  rest.remove_prefix(consumed);

  p.reset();
  ASSERT_EQ(p.feed(rest, consumed), Status::done);
  EXPECT_EQ(consumed, c.size());
  EXPECT_EQ(p.head().path, "/3");
  EXPECT_FALSE(p.head().keep_alive);
  EXPECT_EQ(rest.size(), consumed);
}

TEST(AcceptTest, LeadingEmptyLinesAreSkippedAndCounted) {
  const std::string raw = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const auto r = parse_request(raw);
  ASSERT_EQ(r.status, Status::done);
  EXPECT_EQ(r.end, raw.size());
  Parsed p(raw);
  EXPECT_EQ(p.head().method, "GET");
}

TEST(AcceptTest, Http10KeepAliveRules) {
  Parsed plain("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(plain.head().version, 10);
  EXPECT_FALSE(plain.head().keep_alive);
  EXPECT_EQ(plain.head().host, "");
  Parsed ka("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_TRUE(ka.head().keep_alive);
  Parsed both("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
  EXPECT_FALSE(both.head().keep_alive);
  Parsed close11("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: CLOSE\r\n\r\n");
  EXPECT_FALSE(close11.head().keep_alive);
  Parsed ka11("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(ka11.head().keep_alive);
}

TEST(AcceptTest, ExpectContinue) {
  Parsed p("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n");
  EXPECT_TRUE(p.head().expect_continue);
  // HTTP/1.0 expectations are ignored (RFC 9110 §10.1.1).
  Parsed old("PUT / HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_FALSE(old.head().expect_continue);
}

TEST(AcceptTest, UpgradeWebsocket) {
  Parsed p(
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_TRUE(p.head().upgrade);
  Parsed no_token("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
  EXPECT_FALSE(no_token.head().upgrade);
  Parsed no_header("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n");
  EXPECT_FALSE(no_header.head().upgrade);
  Parsed http10("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
  EXPECT_FALSE(http10.head().upgrade);
}

TEST(AcceptTest, AbsoluteFormAgreeingWithHost) {
  Parsed p("GET HTTP://A.example:8080?q HTTP/1.1\r\nHost: a.EXAMPLE:8080\r\n\r\n");
  EXPECT_EQ(p.head().path, "/");
  EXPECT_EQ(p.head().query, "q");
  EXPECT_EQ(p.head().host, "a.EXAMPLE:8080");
  Parsed old("GET https://a.example/x HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.head().host, "a.example");  // HTTP/1.0 without Host: the authority
  EXPECT_EQ(old.head().path, "/x");
}

TEST(AcceptTest, OptionsAsteriskAndOtherForms) {
  Parsed star("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(star.head().path, "*");
  Parsed ext("PURGE /%2Fa;b=c@d:e/?k=/v?w HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
  EXPECT_EQ(ext.head().method, "PURGE");
  EXPECT_EQ(ext.head().path, "/%2Fa;b=c@d:e/");
  EXPECT_EQ(ext.head().query, "k=/v?w");
  Parsed empty_host("GET / HTTP/1.1\r\nHost:\r\n\r\n");
  EXPECT_EQ(empty_host.head().host, "");
}

TEST(AcceptTest, LimitsAreInclusive) {
  const std::string line = "GET /" + std::string(20, 'a') + " HTTP/1.1";  // 34 bytes
  const std::string fields = "Host: a\r\nB: 1\r\n\r\n";                   // 17 bytes
  const Limits exact{line.size(), fields.size(), 2};
  EXPECT_EQ(parse_request(line + "\r\n" + fields, exact).status, Status::done);
}

TEST(AcceptTest, ResetKeepsWorkingAcrossManyMessages) {
  auto p = HeadParser::request({});
  for (int i = 0; i < 100; ++i) {
    size_t consumed = 0;
    const std::string raw = "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(p.feed(raw, consumed), Status::done);
    EXPECT_EQ(p.head().path, "/" + std::to_string(i));
    p.reset();
  }
}

TEST(AcceptTest, MovedParserKeepsItsHead) {
  auto p = HeadParser::request({});
  size_t consumed = 0;
  ASSERT_EQ(p.feed("GET /x HTTP/1.1\r\nHost: a\r\n\r\n", consumed), Status::done);
  HeadParser q = std::move(p);
  EXPECT_EQ(q.head().path, "/x");
  EXPECT_EQ(q.head().host, "a");
}

}  // namespace
}  // namespace sluice::proxy::http
