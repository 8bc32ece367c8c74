// Request smuggling defences over the real binary. Each malformed request is
// followed, in the same write, by a well-formed one ("smuggled"): sluice must
// answer the first with its error, close the connection, never answer the
// second, and let NOTHING reach the upstream — not a connection, not a byte.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/upstream.hpp"

namespace sluice::testing {
namespace {

struct FramingCase {
  const char* name;
  std::string raw;
  int status;
  const char* code;
  // The head was valid and routed before the body showed the error (see the
  // split-write test below for when the head has already gone upstream).
  bool body_level = false;
};

// Sent right behind each malformed request: if sluice misread the framing, this
// is the request it would find (and answer, or forward) next.
const std::string kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";

std::string post(const std::string& headers, const std::string& body = "") {
  return "POST / HTTP/1.1\r\nHost: t\r\n" + headers + "\r\n" + body;
}

const FramingCase kCases[] = {
    {"ClAndTe", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400,
     "conflicting-framing"},
    {"TeAndCl", post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), 400,
     "conflicting-framing"},
    {"DuplicateClSame", post("Content-Length: 3\r\nContent-Length: 3\r\n", "abc"), 400,
     "bad-content-length"},
    {"DuplicateClDiffer", post("Content-Length: 3\r\nContent-Length: 10\r\n", "abc"), 400,
     "bad-content-length"},
    {"ClList", post("Content-Length: 3, 3\r\n", "abc"), 400, "bad-content-length"},
    {"ClPlusSign", post("Content-Length: +3\r\n", "abc"), 400, "bad-content-length"},
    {"ClHex", post("Content-Length: 0x3\r\n", "abc"), 400, "bad-content-length"},
    {"TeXchunked", post("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n"), 400,
     "bad-transfer-encoding"},
    {"TeChunkedIdentity", post("Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n"), 400,
     "bad-transfer-encoding"},
    {"TeChunkedTwice",
     post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400,
     "bad-transfer-encoding"},
    {"TeGzipChunked", post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), 501,
     "unsupported-transfer-coding"},
    {"TeInHttp10", "POST / HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
     "transfer-encoding-http10"},
    {"ObsFold", "GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n  folded\r\n\r\n", 400, "obs-fold"},
    {"LeadingWhitespaceField", "GET / HTTP/1.1\r\n Host: t\r\n\r\n", 400, "obs-fold"},
    {"BareLfInHeaders", "GET / HTTP/1.1\r\nHost: t\nX-A: 1\r\n\r\n", 400, "bare-lf"},
    {"BareLfRequestLine", "GET / HTTP/1.1\nHost: t\r\n\r\n", 400, "bare-lf"},
    {"BareCr", "GET / HTTP/1.1\r\nHost: t\rX-A: 1\r\n\r\n", 400, "bare-cr"},
    {"NulInValue", std::string("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n", 37), 400,
     "bad-header-value"},
    {"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400, "space-before-colon"},
    {"SpaceBeforeColonTe", post("Transfer-Encoding : chunked\r\nContent-Length: 5\r\n", "abcde"),
     400, "space-before-colon"},
    {"UnderscoreAlias", post("Content_Length: 5\r\n", ""), 400, "bad-header-name"},
    {"DuplicateHost", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate-host"},
    {"MissingHost11", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400, "missing-host"},
    {"BadHost", "GET / HTTP/1.1\r\nHost: a,b\r\n\r\n", 400, "bad-host"},
    {"AbsoluteFormHostMismatch", "GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n", 400,
     "host-mismatch"},
    {"FragmentInTarget", "GET /a#b HTTP/1.1\r\nHost: t\r\n\r\n", 400, "bad-target"},
    {"Connect", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 501,
     "connect-unsupported"},
    // Body-level errors: the head was valid and routed before the body was seen.
    {"BadChunkSize", post("Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"), 400,
     "bad-chunk-size", true},
    {"ChunkSizeOverflow",
     post("Transfer-Encoding: chunked\r\n", "10000000000000005\r\nhello\r\n0\r\n\r\n"), 400,
     "chunk-size-overflow", true},
    {"ChunkSizeWithSpace", post("Transfer-Encoding: chunked\r\n", "5 \r\nhello\r\n0\r\n\r\n"), 400,
     "bad-chunk-size", true},
    {"ChunkDataOverrun", post("Transfer-Encoding: chunked\r\n", "5\r\nhelloXX\r\n0\r\n\r\n"), 400,
     "bad-chunk", true},
    {"ChunkBareLf", post("Transfer-Encoding: chunked\r\n", "5\nhello\r\n0\r\n\r\n"), 400, "bare-lf",
     true},
};

// One sluice for the whole table: every error response ends in a lingering
// close that holds sluice's shutdown for ~2 s, which per case would cost a minute.
class HttpFramingTest : public HttpSluiceTest {
 protected:
  void SetUp() override {
    HttpConfig config;
    config.clusters = {{"a", {up_.address()}}};
    config.routes = {"{ match: {}, cluster: a }"};
    ASSERT_TRUE(start_sluice(config));
  }
  Upstream up_{echo_handler("a")};
};

TEST_F(HttpFramingTest, EachMalformedRequestIsRejectedClosedAndNeverForwarded) {
  for (const FramingCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const uint64_t connections = up_.connections(), bytes = up_.bytes_received();
    HttpClient client = connect();
    ASSERT_TRUE(client.send(c.raw + kSmuggled));
    std::string error;
    auto r = client.read_response(Millis(5000), false, &error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->status, c.status) << r->raw_head << r->body;
    EXPECT_EQ(r->header("x-sluice-error").value_or("<none>"), c.code);
    EXPECT_EQ(r->header("connection").value_or(""), "close");
    std::string extra;
    EXPECT_EQ(client.wait_closed(Millis(3000), &extra), StreamEnd::eof)
        << "after the error, sluice sent: " << extra;
    // Give a stray forward time to land before counting.
    std::this_thread::sleep_for(Millis(50));
    // Body bytes that came with the head are checked before dispatch, so even a
    // body-level error in one write costs no upstream connection.
    EXPECT_EQ(up_.connections(), connections) << "sluice opened an upstream connection";
    EXPECT_EQ(up_.bytes_received(), bytes) << "bytes reached the upstream:\n"
                                           << (up_.last() ? up_.last()->raw_head : "");
  }
  EXPECT_EQ(up_.requests(), 0u);
}

// The realistic body-level case: the head arrives first and is forwarded, the
// broken chunk comes later. The upstream then holds half a request; sluice must
// close that connection (never reuse it, never send what follows the error).
TEST_F(HttpFramingTest, BodyErrorAfterTheHeadWasForwardedClosesTheUpstreamConnection) {
  HttpClient client = connect();
  ASSERT_TRUE(
      client.send("POST /half HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n"));
  ASSERT_TRUE(up_.wait_requests(1, Millis(3000))) << "the head was not forwarded";
  ASSERT_TRUE(client.send("zz\r\n\r\n" + kSmuggled));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("x-sluice-error").value_or(""), "bad-chunk-size");
  EXPECT_EQ(client.wait_closed(Millis(3000)), StreamEnd::eof);
  // The echo handler is still reading the chunked body; it records the request
  // only when sluice closes the connection under it.
  const auto deadline = std::chrono::steady_clock::now() + Millis(3000);
  while (up_.received().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(Millis(10));
  auto got = up_.received();
  ASSERT_EQ(got.size(), 1u) << "the upstream connection was not closed";
  EXPECT_EQ(got[0].target, "/half");
  EXPECT_EQ(got[0].body, "hello");  // what was relayed before the error, and no more
  EXPECT_EQ(up_.requests(), 1u) << "the smuggled request reached the upstream";
  // A fresh request still works, on a new upstream connection.
  auto ok = fetch(request("GET", "/after", "t"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(up_.connections(), 2u);
}

}  // namespace
}  // namespace sluice::testing
