// The HTTP/1.1 codec defects of issue #13, over the real binary against a raw upstream
// the test scripts: framing fields in trailers, HTTP/0.9, header names a backend could
// read as framing fields, Content-Length with leading zeros, and valid messages that
// were refused. Each test checks what the client got and what reached the upstream.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/text.hpp"
#include "tests/http_integration/upstream.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Echoes like echo_handler, except for targets that make it answer in a way a strict
// parser would refuse or a lax one misread. Notes "complete <target>" for every request
// it read whole, body and trailers included.
Upstream::Handler scripted_handler() {
  return [](UpstreamConn& c) {
    for (;;) {
      auto r = c.read_request(Millis(10000));
      if (!r) return;
      c.note("complete " + r->target + "\n");
      if (r->target == "/no-reason") {
        c.write("HTTP/1.1 301\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n");
      } else if (r->target == "/http12") {
        c.write("HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nok");
      } else if (r->target == "/cl010") {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: 010\r\n\r\n0123456789");
      } else if (r->target == "/trailer-host") {
        // The head first, so that it has gone to the client when the trailer shows up.
        c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n");
        std::this_thread::sleep_for(Millis(200));
        c.write("0\r\nHost: evil.example\r\n\r\n");
      } else if (r->target == "/bad-size") {
        // Malformed chunked bodies sent in one write with their head.
        c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n");
      } else if (r->target == "/bare-lf") {
        c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n");
      } else if (r->target == "/overrun") {
        c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n");
      } else {
        c.write(http_response(200, r->body,
                              "X-Seen-Length: " + std::to_string(r->body.size()) + "\r\n"));
      }
      if (lower(r->header("connection").value_or("")) == "close") return;
    }
  };
}

class HttpHardeningTest : public HttpSluiceTest {
 protected:
  // `listener_keys`: extra lines of the listener's map, e.g. "headers_with_underscores: allow".
  bool start(const std::string& listener_keys = "") {
    HttpConfig config;
    config.clusters = {{"a", {up_.address()}}};
    config.routes = {"{ match: {}, cluster: a }"};
    // The fixture writes `timeouts:` inside the listener's map; a key on the next line of
    // the same indentation belongs to that map too.
    if (!listener_keys.empty()) config.timeouts += "\n    " + listener_keys;
    return start_sluice(config);
  }

  // Sends `raw` on a new connection, expects `status`, returns the response.
  Response expect_status(const std::string& raw, int status) {
    auto r = fetch(raw);
    EXPECT_TRUE(r) << raw;
    if (!r) return {};
    EXPECT_EQ(r->status, status) << raw << "\n" << r->raw_head << r->body;
    return *r;
  }

  bool upstream_completed(const std::string& target) const {
    return up_.notes().find("complete " + target + "\n") != std::string::npos;
  }

  Upstream up_{scripted_handler()};
};

// Item 7: Content-Length / Transfer-Encoding / Host in a request's trailers.
TEST_F(HttpHardeningTest, RequestTrailerWithFramingFieldIsRefusedAndNeverCompletesUpstream) {
  ASSERT_TRUE(start());
  for (const std::string trailer : {"Content-Length: 5", "Transfer-Encoding: chunked",
                                    "Host: evil.example", "Content_Length: 5"}) {
    SCOPED_TRACE(trailer);
    const std::string raw =
        "POST /trailer HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n" +
        trailer + "\r\n\r\n";
    Response r = expect_status(raw, 400);
    EXPECT_EQ(r.header("x-sluice-error").value_or("<none>"), "forbidden-trailer");
  }
  std::this_thread::sleep_for(Millis(100));
  EXPECT_FALSE(upstream_completed("/trailer")) << up_.notes();
  // A harmless trailer still goes through.
  Response ok = expect_status(
      "POST /fine HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nChecksum: 1\r\n\r\n",
      200);
  EXPECT_EQ(ok.body, "hello");
}

// Item 7, the other way: the client never gets the trailer; the response is cut short.
TEST_F(HttpHardeningTest, ResponseTrailerWithFramingFieldNeverReachesTheClient) {
  ASSERT_TRUE(start());
  HttpClient client = connect();
  ASSERT_TRUE(client.send("GET /trailer-host HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto begin = Clock::now();
  client.read_for(Millis(5000));  // until the connection ends (or the deadline)
  const std::string seen = client.pending();
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(4)) << "still open after: " << seen;
  EXPECT_EQ(seen.find("evil.example"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("ok\r\n0\r\n"), std::string::npos)
      << "the body must not look complete: " << seen;
}

// Item 11: a malformed chunked body that arrives with its head is a 502 the client can
// read, not an empty reply.
TEST_F(HttpHardeningTest, MalformedChunkedBodyWithTheHeadIsA502) {
  ASSERT_TRUE(start());
  for (const std::string target : {"/bad-size", "/bare-lf", "/overrun"}) {
    SCOPED_TRACE(target);
    Response r = expect_status("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n", 502);
    EXPECT_EQ(r.header("x-sluice-error").value_or("<none>"), "bad-response");
  }
  // Well-framed answers still pass on the same listener.
  expect_status("GET /fine HTTP/1.1\r\nHost: t\r\n\r\n", 200);
}

// Item 10: HTTP/0.9 is answered at once, not after the 10 s header timeout.
TEST_F(HttpHardeningTest, Http09IsRefusedAtOnce) {
  ASSERT_TRUE(start());
  const auto begin = Clock::now();
  HttpClient client = connect();
  ASSERT_TRUE(client.send("GET /\r\n"));
  std::string error;
  auto r = client.read_response(Millis(3000), false, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(2));
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("x-sluice-error").value_or("<none>"), "bad-version");
  EXPECT_EQ(up_.connections(), 0u);
}

// Item 11: names that normalise to a framing field are refused; other '_' names are
// dropped by default (headers_with_underscores: drop).
TEST_F(HttpHardeningTest, UnderscoreNamesAreDroppedAndFramingLookalikesRefused) {
  ASSERT_TRUE(start());
  for (const std::string field : {"Transfer___Encoding: chunked", "Transfer---Encoding: chunked",
                                  "Content__Length: 5", "Transfer-Encoding_: chunked"}) {
    SCOPED_TRACE(field);
    Response r = expect_status(
        "POST /lookalike HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n" + field + "\r\n\r\nhello",
        400);
    EXPECT_EQ(r.header("x-sluice-error").value_or("<none>"), "bad-header-name");
  }
  EXPECT_EQ(up_.requests(), 0u);
  expect_status("GET /drop HTTP/1.1\r\nHost: t\r\nX_Api_Key: k\r\nX-Keep: 1\r\n\r\n", 200);
  auto seen = up_.last();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->header("x-keep").value_or("<none>"), "1");
  EXPECT_EQ(seen->raw_head.find('_'), std::string::npos) << seen->raw_head;
}

// headers_with_underscores: reject and allow, from the listener's config.
TEST_F(HttpHardeningTest, UnderscoreActionsFromTheListener) {
  ASSERT_TRUE(start("headers_with_underscores: reject"));
  Response r = expect_status("GET / HTTP/1.1\r\nHost: t\r\nX_Api_Key: k\r\n\r\n", 400);
  EXPECT_EQ(r.header("x-sluice-error").value_or("<none>"), "underscore-in-header-name");
  EXPECT_EQ(up_.requests(), 0u);
  ASSERT_EQ(stop_sluice().success(), true);
  ASSERT_TRUE(start("headers_with_underscores: allow"));
  expect_status("GET / HTTP/1.1\r\nHost: t\r\nX_Api_Key: k\r\n\r\n", 200);
  auto seen = up_.last();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->header("x_api_key").value_or("<none>"), "k");
}

// Item 11: Content-Length with leading zeros goes out in canonical decimal, both ways.
TEST_F(HttpHardeningTest, ContentLengthIsForwardedWithoutLeadingZeros) {
  ASSERT_TRUE(start());
  Response r = expect_status(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 010\r\n\r\n0123456789", 200);
  EXPECT_EQ(r.body, "0123456789");
  auto seen = up_.last();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->header("content-length").value_or("<none>"), "10") << seen->raw_head;
  EXPECT_EQ(seen->body, "0123456789");

  Response down = expect_status("GET /cl010 HTTP/1.1\r\nHost: t\r\n\r\n", 200);
  EXPECT_EQ(down.header("content-length").value_or("<none>"), "10") << down.raw_head;
  EXPECT_EQ(down.body, "0123456789");
}

// Item 11: valid messages that used to be refused.
TEST_F(HttpHardeningTest, HostsWithSubDelimsAreForwarded) {
  ASSERT_TRUE(start());
  for (const std::string host : {"0.0.0.0=5000", "a!b", "a!b:8080"}) {
    SCOPED_TRACE(host);
    expect_status("GET /h HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 200);
    auto seen = up_.last();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->header("host").value_or("<none>"), host);
  }
}

TEST_F(HttpHardeningTest, Http12RequestIsServedAsHttp11) {
  ASSERT_TRUE(start());
  HttpClient client = connect();
  ASSERT_TRUE(client.send("GET /v12 HTTP/1.2\r\nHost: t\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto seen = up_.last();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->version, "HTTP/1.1");
  // 1.1 semantics: the connection stays open for the next request.
  ASSERT_TRUE(client.send("GET /again HTTP/1.2\r\nHost: t\r\n\r\n"));
  auto again = client.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpHardeningTest, UpstreamStatusLinesWithoutReasonOrWithHttp12Are200s) {
  ASSERT_TRUE(start());
  Response moved = expect_status("GET /no-reason HTTP/1.1\r\nHost: t\r\n\r\n", 301);
  EXPECT_EQ(moved.header("location").value_or("<none>"), "/b");
  EXPECT_EQ(moved.header("x-sluice-error"), std::nullopt);
  Response newer = expect_status("GET /http12 HTTP/1.1\r\nHost: t\r\n\r\n", 200);
  EXPECT_EQ(newer.body, "ok");
  EXPECT_EQ(newer.version, "HTTP/1.1");
}

}  // namespace
}  // namespace sluice::testing
