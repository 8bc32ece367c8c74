// Upstream response heads: framing by status and request method, keep-alive, and
// the same strictness as requests with 502 as the answer.
#include <gtest/gtest.h>

#include <string>

#include "http_test_util.hpp"

namespace sluice::proxy::http {
namespace {

using test::parse_response;

struct Response {
  HeadParser parser;
  size_t consumed = 0;
  Response(std::string_view raw, std::string_view method = "GET")
      : parser(HeadParser::response({}, method)) {
    EXPECT_EQ(parser.feed(raw, consumed), Status::done) << parser.error().code;
  }
  const Head& head() const { return parser.head(); }
};

TEST(ResponseTest, ContentLength) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
  const auto r = parse_response(head + "ok");
  ASSERT_EQ(r.status, Status::done);
  EXPECT_EQ(r.end, head.size());
  Response p(head);
  EXPECT_FALSE(p.head().is_request);
  EXPECT_EQ(p.head().status, 200);
  EXPECT_EQ(p.head().reason, "OK");
  EXPECT_EQ(p.head().framing, Framing::content_length);
  EXPECT_EQ(p.head().content_length, 2u);
  EXPECT_TRUE(p.head().keep_alive);
}

TEST(ResponseTest, NoFramingMeansUntilClose) {
  Response p("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n");
  EXPECT_EQ(p.head().framing, Framing::until_close);
  EXPECT_FALSE(p.head().keep_alive);
  Response old("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(old.head().framing, Framing::until_close);
  EXPECT_FALSE(old.head().keep_alive);
}

TEST(ResponseTest, Chunked) {
  Response p("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(p.head().framing, Framing::chunked);
}

TEST(ResponseTest, NoBodyForHead204304And1xx) {
  EXPECT_EQ(Response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD").head().framing,
            Framing::none);
  EXPECT_EQ(
      Response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD").head().framing,
      Framing::none);
  EXPECT_EQ(Response("HTTP/1.1 204 No Content\r\n\r\n").head().framing, Framing::none);
  EXPECT_TRUE(Response("HTTP/1.1 204 No Content\r\n\r\n").head().keep_alive);
  EXPECT_EQ(Response("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n").head().framing,
            Framing::none);
  const Response cont("HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(cont.head().framing, Framing::none);
  EXPECT_EQ(cont.consumed, 25u);
  EXPECT_EQ(Response("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n").head().framing,
            Framing::none);
}

TEST(ResponseTest, SwitchingProtocols) {
  Response p(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  EXPECT_TRUE(p.head().upgrade);
  EXPECT_EQ(p.head().framing, Framing::none);
}

TEST(ResponseTest, InterimThenFinalOnOneParser) {
  const std::string raw =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  auto p = HeadParser::response({}, "POST");
  size_t consumed = 0;
  ASSERT_EQ(p.feed(raw, consumed), Status::done);
  EXPECT_EQ(p.head().status, 100);
  const size_t first = consumed;
  p.reset("POST");
  ASSERT_EQ(p.feed(std::string_view(raw).substr(first), consumed), Status::done);
  EXPECT_EQ(p.head().status, 201);
  EXPECT_EQ(first + consumed, raw.size());
}

TEST(ResponseTest, EmptyReasonIsFine) {
  EXPECT_EQ(Response("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").head().reason, "");
}

struct BadResponse {
  const char* name;
  std::string raw;
  std::string_view code;
};

// gtest names rows by their name instead of dumping bytes.
void PrintTo(const BadResponse& row, std::ostream* os) {
  *os << row.name;
}

class BadResponseTest : public ::testing::TestWithParam<BadResponse> {};

TEST_P(BadResponseTest, IsA502) {
  const auto r = parse_response(GetParam().raw);
  ASSERT_EQ(r.status, Status::error) << test::describe(r);
  EXPECT_EQ(r.error.status, 502);
  EXPECT_EQ(r.error.code, GetParam().code);
}

INSTANTIATE_TEST_SUITE_P(
    Http, BadResponseTest,
    ::testing::Values(
        BadResponse{"bare_lf", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "bare-lf"},
        BadResponse{"obs_fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "obs-fold"},
        BadResponse{"ctl", "HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n", "bad-header-value"},
        BadResponse{"space_before_colon", "HTTP/1.1 200 OK\r\nX : a\r\n\r\n", "space-before-colon"},
        BadResponse{"cl_and_te",
                    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                    "conflicting-framing"},
        BadResponse{"cl_twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                    "bad-content-length"},
        BadResponse{"te_gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                    "bad-transfer-encoding"},
        BadResponse{"te_gzip_chunked",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                    "unsupported-transfer-coding"},
        BadResponse{"te_http10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                    "transfer-encoding-http10"},
        BadResponse{"status_short", "HTTP/1.1 20 OK\r\n\r\n", "bad-status"},
        BadResponse{"status_range", "HTTP/1.1 099 OK\r\n\r\n", "bad-status"},
        BadResponse{"status_600", "HTTP/1.1 600 OK\r\n\r\n", "bad-status"},
        BadResponse{"version_2", "HTTP/2.0 200 OK\r\n\r\n", "unsupported-version"},
        BadResponse{"version_garbage", "HTTP/x 200 OK\r\n\r\n", "bad-version"},
        BadResponse{"not_http", "SSH-2.0-OpenSSH\r\n\r\n", "bad-version"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(BadResponseTest, LimitsGive502) {
  const Limits tight{16, 32, 2};
  auto line = parse_response("HTTP/1.1 200 A very long reason phrase\r\n\r\n", "GET", tight);
  EXPECT_EQ(line.error.status, 502);
  EXPECT_EQ(line.error.code, "request-line-too-long");
  auto count = parse_response("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", "GET", tight);
  EXPECT_EQ(count.error.status, 502);
  EXPECT_EQ(count.error.code, "too-many-headers");
  auto size =
      parse_response("HTTP/1.1 200 OK\r\nA: " + std::string(40, 'a') + "\r\n\r\n", "GET", tight);
  EXPECT_EQ(size.error.status, 502);
  EXPECT_EQ(size.error.code, "header-too-large");
}

}  // namespace
}  // namespace sluice::proxy::http
