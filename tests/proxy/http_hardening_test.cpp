// Regression tests for the codec defects found by probing sluice (issue #13): framing
// fields in trailers, HTTP/0.9, header names a backend could read as framing fields,
// Content-Length with leading zeros, and valid messages that were refused. Every input is
// fed whole, byte by byte and split at every offset.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http_test_util.hpp"
#include "proxy/l7/h1/field_names.hpp"
#include "proxy/l7/h1/route.hpp"
#include "proxy/l7/h1/serialize.hpp"

namespace sluice::proxy::http {
namespace {

using config::HeadersWithUnderscores;
using test::parse_request;
using test::parse_response;

constexpr HeadersWithUnderscores kAllActions[] = {
    HeadersWithUnderscores::allow, HeadersWithUnderscores::reject, HeadersWithUnderscores::drop};

// Keeps the parser alive for the Head's views.
struct Parsed {
  HeadParser parser;
  explicit Parsed(std::string_view raw, RequestOptions options = {})
      : parser(HeadParser::request({}, options)) {
    size_t consumed = 0;
    EXPECT_EQ(parser.feed(raw, consumed), Status::done) << parser.error().code;
    EXPECT_EQ(consumed, raw.size());
  }
  const Head& head() const { return parser.head(); }
};

struct ParsedResponse {
  HeadParser parser = HeadParser::response({}, "GET");
  explicit ParsedResponse(std::string_view raw) {
    size_t consumed = 0;
    EXPECT_EQ(parser.feed(raw, consumed), Status::done) << parser.error().code;
    EXPECT_EQ(consumed, raw.size());
  }
  const Head& head() const { return parser.head(); }
};

std::string get_with(std::string_view fields) {
  return "GET / HTTP/1.1\r\nHost: a.example\r\n" + std::string(fields) + "\r\n";
}

// ---------------------------------------------------------------- HTTP/0.9

TEST(Http09Test, RefusedAsSoonAsTheRequestLineEnds) {
  for (const std::string raw : {"GET /\r\n", "POST /x\r\n", "\r\nGET /\r\n"}) {
    const auto r = parse_request(raw);
    ASSERT_EQ(r.status, Status::error) << raw;
    EXPECT_EQ(r.error.status, 400);
    EXPECT_EQ(r.error.code, "bad-version");
  }
  // Not even "method SP target": garbage, answered at once too.
  const auto garbage = parse_request("HELLO\r\n");
  ASSERT_EQ(garbage.status, Status::error);
  EXPECT_EQ(garbage.error.status, 400);
  EXPECT_EQ(garbage.error.code, "bad-method");
  auto p = HeadParser::request({});
  size_t consumed = 0;
  EXPECT_EQ(p.feed("GET /\r\n", consumed), Status::error);
  EXPECT_EQ(consumed, 6u);  // the LF that ends the line: nothing more is awaited
}

TEST(Http09Test, StatusLineWithoutStatusIsA502AtOnce) {
  const auto r = parse_response("HTTP/1.1\r\n");
  ASSERT_EQ(r.status, Status::error);
  EXPECT_EQ(r.error.status, 502);
  EXPECT_EQ(r.error.code, "bad-version");
}

// ---------------------------------------------------------------- header names

// Names a backend treating '_' like '-' (or ignoring separators) reads as framing or Host.
const std::vector<std::string> kLookalikes = {
    "Transfer___Encoding: chunked",
    "Transfer---Encoding: chunked",
    "Content__Length: 5",
    "Transfer-Encoding_: chunked",
    "TransferEncoding: chunked",
    "content_length: 5",
    "-Content-Length: 5",
    "_Host: b.example",
    "HOST_: b.example",
};

TEST(HeaderNameTest, FramingLookalikesAreRefusedWhateverTheAction) {
  for (const std::string& field : kLookalikes) {
    for (HeadersWithUnderscores action : kAllActions) {
      const auto r = parse_request(get_with(field + "\r\n"), {}, RequestOptions{action});
      ASSERT_EQ(r.status, Status::error) << field;
      EXPECT_EQ(r.error.status, 400) << field;
      EXPECT_EQ(r.error.code, "bad-header-name") << field;
    }
    const auto resp =
        parse_response("HTTP/1.1 200 OK\r\n" + field + "\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(resp.status, Status::error) << field;
    EXPECT_EQ(resp.error.status, 502) << field;
  }
}

// The whole-name check against the incremental matcher the body scanner uses: they must agree
// on every name, and tell the real names from their look-alikes.
TEST(HeaderNameTest, ClassifyFramingNameAgreesWithTheMatcher) {
  using F = FramingName;
  const std::pair<const char*, F> cases[] = {
      {"Host", F::host},
      {"HOST", F::host},
      {"content-length", F::content_length},
      {"Transfer-Encoding", F::transfer_encoding},
      {"Ho_st", F::lookalike},
      {"_Host", F::lookalike},
      {"Content_Length", F::lookalike},
      {"ContentLength", F::lookalike},
      {"-ContentLength", F::lookalike},
      {"Content--Length", F::lookalike},
      {"Transfer___Encoding", F::lookalike},
      {"Transfer-Encoding_", F::lookalike},
      {"Content-Type", F::none},
      {"Hosts", F::none},
      {"X-Host", F::none},
      {"Content-Lengthy", F::none},
      {"Transfer-Encodinh", F::none},
      {"", F::none},
      {"----", F::none},
  };
  for (const auto& [name, want] : cases) {
    SCOPED_TRACE(name);
    EXPECT_EQ(classify_framing_name(name), want);
    FramingNameMatcher m;
    for (unsigned char c : std::string_view(name)) m.feed(c);
    EXPECT_EQ(m.matches(), want != F::none);
  }
}

TEST(HeaderNameTest, CanonicalNamesInAnyCaseAreStillFine) {
  Parsed p("POST / HTTP/1.1\r\nhOST: a\r\ncontent-LENGTH: 1\r\n\r\n");
  EXPECT_EQ(p.head().content_length, 1u);
  Parsed te("POST / HTTP/1.1\r\nHost: a\r\nTRANSFER-ENCODING: chunked\r\n\r\n");
  EXPECT_EQ(te.head().framing, Framing::chunked);
  // Longer or shorter names that merely contain one are someone else's fields.
  Parsed other(get_with("X-Content-Length: 1\r\nHosts: 2\r\nContent-Lengths: 3\r\n"));
  EXPECT_EQ(other.head().headers.size(), 4u);
}

TEST(HeaderNameTest, DropIsTheDefaultAndRemovesTheFieldBeforeAnyoneSeesIt) {
  const std::string raw = get_with("A: 1\r\nX_Tenant: blue\r\nC_: 3\r\nD: 4\r\n");
  ASSERT_EQ(parse_request(raw).status, Status::done);
  Parsed p(raw);
  ASSERT_EQ(p.head().headers.size(), 3u);
  EXPECT_EQ(p.head().headers[1].name, "A");
  EXPECT_EQ(p.head().headers[2].name, "D");
  EXPECT_EQ(p.head().find("x_tenant"), nullptr);
  // Routing never sees it either, nor does the upstream.
  std::vector<config::Route> routes(1);
  routes[0].match.headers = {{"X_Tenant", std::string("blue")}};
  EXPECT_EQ(match_route(routes, p.head()), nullptr);
  std::string out;
  serialize_request(p.head(), {"10.0.0.1"}, out);
  EXPECT_EQ(out.find('_'), std::string::npos) << out;
}

TEST(HeaderNameTest, RejectRefusesAndAllowKeeps) {
  const std::string raw = get_with("X_Api_Key: k\r\n");
  const auto rejected = parse_request(raw, {}, RequestOptions{HeadersWithUnderscores::reject});
  ASSERT_EQ(rejected.status, Status::error);
  EXPECT_EQ(rejected.error.status, 400);
  EXPECT_EQ(rejected.error.code, "underscore-in-header-name");
  Parsed allowed(raw, RequestOptions{HeadersWithUnderscores::allow});
  ASSERT_NE(allowed.head().find("x_api_key"), nullptr);
  std::string out;
  serialize_request(allowed.head(), {"10.0.0.1"}, out);
  EXPECT_NE(out.find("X_Api_Key: k\r\n"), std::string::npos);
}

TEST(HeaderNameTest, OptionsCanChangeBetweenRequests) {
  auto p = HeadParser::request({});
  size_t consumed = 0;
  const std::string raw = get_with("X_A: 1\r\n");
  ASSERT_EQ(p.feed(raw, consumed), Status::done);
  EXPECT_EQ(p.head().find("x_a"), nullptr);
  p.reset();
  p.set_options(RequestOptions{HeadersWithUnderscores::reject});
  EXPECT_EQ(p.feed(raw, consumed), Status::error);
  p.reset();
  p.set_options(RequestOptions{HeadersWithUnderscores::allow});
  ASSERT_EQ(p.feed(raw, consumed), Status::done);
  EXPECT_NE(p.head().find("x_a"), nullptr);
}

TEST(HeaderNameTest, ResponsesKeepTheirUnderscoreNames) {
  ParsedResponse r("HTTP/1.1 200 OK\r\nX_Backend: 1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_NE(r.head().find("x_backend"), nullptr);
}

// ---------------------------------------------------------------- trailers

Head chunked(bool is_request) {
  Head h;
  h.is_request = is_request;
  h.framing = Framing::chunked;
  return h;
}

test::FeedResult scan(bool is_request, std::string_view body) {
  return test::feed_every_way([&] { return BodyScanner(chunked(is_request)); }, body);
}

TEST(TrailerTest, FramingAndRoutingFieldsAreRefusedBothWays) {
  const std::vector<std::string> bodies = {
      "0\r\nContent-Length: 5\r\n\r\n",
      "0\r\ntransfer-encoding: chunked\r\n\r\n",
      "0\r\nHost: evil.example\r\n\r\n",
      "5\r\nhello\r\n0\r\nX-Sum: 1\r\nHOST: a\r\n\r\n",
      "0\r\nContent_Length: 5\r\n\r\n",
      "0\r\nTransfer--Encoding: chunked\r\n\r\n",
      "0\r\nHost:\r\n\r\n",
  };
  for (const std::string& body : bodies) {
    const auto request = scan(true, body);
    ASSERT_EQ(request.status, Status::error) << body;
    EXPECT_EQ(request.error.status, 400) << body;
    EXPECT_EQ(request.error.code, "forbidden-trailer") << body;
    const auto response = scan(false, body);
    ASSERT_EQ(response.status, Status::error) << body;
    EXPECT_EQ(response.error.status, 502) << body;
    EXPECT_EQ(response.error.code, "forbidden-trailer") << body;
  }
  BodyScanner s(chunked(true));
  size_t consumed = 0;
  ASSERT_EQ(s.feed("0\r\nHost: a\r\n\r\n", consumed), Status::error);
  EXPECT_EQ(consumed, 7u);  // at the colon: the value is never taken
}

TEST(TrailerTest, OtherTrailersStillPass) {
  const std::string body =
      "3\r\nabc\r\n0\r\nX-Content-Length: 5\r\nHosts: a\r\nContent-Lengthy: 1\r\n"
      "Trailer-Host: x\r\ngrpc-status: 0\r\nServer-Timing: db;dur=5\r\n\r\n";
  for (bool is_request : {true, false}) {
    const auto r = scan(is_request, body + "GET /");
    ASSERT_EQ(r.status, Status::done) << test::describe(r);
    EXPECT_EQ(r.end, body.size());
  }
}

// A bad body that arrives in the same read as its response head: the codec reports a 502
// (the Exchange must answer it before the head goes to the client, see the report).
TEST(TrailerTest, BadChunkedResponseBodyAfterItsHeadIsA502) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::pair<std::string, std::string_view> cases[] = {
      {"zz\r\nhello\r\n0\r\n\r\n", "bad-chunk-size"},
      {"5\nhello\r\n0\r\n\r\n", "bare-lf"},
      {"5\r\nhelloXX\r\n0\r\n\r\n", "bad-chunk"},
  };
  for (const auto& [body, code] : cases) {
    auto p = HeadParser::response({}, "GET");
    const std::string all = head + body;
    size_t consumed = 0;
    ASSERT_EQ(p.feed(all, consumed), Status::done);
    BodyScanner s(p.head());
    size_t used = 0;
    ASSERT_EQ(s.feed(std::string_view(all).substr(consumed), used), Status::error) << body;
    EXPECT_EQ(s.error().status, 502);
    EXPECT_EQ(s.error().code, code);
  }
}

// ---------------------------------------------------------------- Content-Length

TEST(ContentLengthTest, ForwardedInCanonicalDecimal) {
  Parsed p("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 010\r\n\r\n");
  EXPECT_EQ(p.head().content_length, 10u);
  std::string out;
  serialize_request(p.head(), {"10.0.0.1"}, out);
  EXPECT_NE(out.find("\r\nContent-Length: 10\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("010"), std::string::npos) << out;

  Parsed zeros("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 0000\r\n\r\n");
  out.clear();
  serialize_request(zeros.head(), {"10.0.0.1"}, out);
  EXPECT_NE(out.find("\r\ncontent-length: 0\r\n"), std::string::npos) << out;

  ParsedResponse r("HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n");
  out.clear();
  serialize_response(r.head(), true, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: keep-alive\r\n\r\n");
}

// ---------------------------------------------------------------- valid messages

TEST(ValidMessageTest, HostWithSubDelims) {
  for (const std::string host : {"0.0.0.0=5000", "a!b", "a!b:8080", "a$b&c'd(e)f*g+h;i=j~k"}) {
    const std::string raw = "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    ASSERT_EQ(parse_request(raw).status, Status::done) << host;
    Parsed p(raw);
    EXPECT_EQ(p.head().host, host);
  }
  Parsed absolute("GET http://a!b/x HTTP/1.1\r\nHost: a!b\r\n\r\n");
  EXPECT_EQ(absolute.head().path, "/x");
  // Still refused: a list once copied into X-Forwarded-Host, escapes, userinfo.
  for (const std::string host : {"a,b", "a%41b", "u@a", "a/b"}) {
    const auto r = parse_request("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    ASSERT_EQ(r.status, Status::error) << host;
    EXPECT_EQ(r.error.code, "bad-host") << host;
  }
}

TEST(ValidMessageTest, HigherMinorVersionIsHttp11) {
  for (const std::string version : {"HTTP/1.2", "HTTP/1.9"}) {
    const std::string line = "GET /v " + version + "\r\nHost: a\r\n\r\n";
    ASSERT_EQ(parse_request(line).status, Status::done) << version;
    Parsed p(line);
    EXPECT_EQ(p.head().version, 11);
    EXPECT_TRUE(p.head().keep_alive);
    std::string out;
    serialize_request(p.head(), {"10.0.0.1"}, out);
    EXPECT_TRUE(out.starts_with("GET /v HTTP/1.1\r\n")) << out;
    ParsedResponse r(version + " 200 OK\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(r.head().version, 11);
    EXPECT_TRUE(r.head().keep_alive);
  }
  // Other majors are still not ours to guess at.
  EXPECT_EQ(parse_request("GET / HTTP/2.0\r\nHost: a\r\n\r\n").error.status, 505);
  EXPECT_EQ(parse_request("GET / HTTP/0.9\r\nHost: a\r\n\r\n").error.status, 505);
  EXPECT_EQ(parse_response("HTTP/2.0 200 OK\r\n\r\n").error.status, 502);
}

TEST(ValidMessageTest, StatusLineWithoutReasonOrItsSpace) {
  const std::string raw = "HTTP/1.1 301\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n";
  const auto r = parse_response(raw + "HTTP/1.1 200 OK\r\n");
  ASSERT_EQ(r.status, Status::done) << test::describe(r);
  EXPECT_EQ(r.end, raw.size());
  ParsedResponse p(raw);
  EXPECT_EQ(p.head().status, 301);
  EXPECT_EQ(p.head().reason, "");
  ASSERT_NE(p.head().find("location"), nullptr);
  EXPECT_EQ(p.head().find("location")->value, "/b");
  std::string out;
  serialize_response(p.head(), true, out);
  EXPECT_EQ(out,
            "HTTP/1.1 301 \r\nLocation: /b\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
  ParsedResponse old("HTTP/1.0 204\r\n\r\n");
  EXPECT_EQ(old.head().status, 204);
  // The status itself stays strict.
  for (const std::string line : {"HTTP/1.1 30", "HTTP/1.1 3011", "HTTP/1.1 30x", "HTTP/1.1 301x"}) {
    const auto bad = parse_response(line + "\r\n\r\n");
    ASSERT_EQ(bad.status, Status::error) << line;
    EXPECT_EQ(bad.error.status, 502) << line;
  }
}

}  // namespace
}  // namespace sluice::proxy::http
