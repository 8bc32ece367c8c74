// Message semantics that change framing or the connection's fate: bodiless
// responses (HEAD, 204, 304), 100-continue, Connection: close, HTTP/1.0, and the
// tunnel after a 101 upgrade (both directions, half-close each way).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/upstream.hpp"
#include "tests/support/proc_stats.hpp"

namespace sluice::testing {
namespace {

class HttpSemanticsTest : public HttpSluiceTest {
 protected:
  bool start_with(const Upstream& up) {
    HttpConfig config;
    config.clusters = {{"a", {up.address()}}};
    config.routes = {"{ match: {}, cluster: a }"};
    return start_sluice(config);
  }
};

// Responses that carry no body although their heads describe one. If sluice
// waited for those bytes, or passed stray ones on, the "after" response on the
// same connection would be lost or garbled.
TEST_F(HttpSemanticsTest, HeadNoContentAndNotModifiedCarryNoBodyAndKeepTheConnection) {
  Upstream up([](UpstreamConn& c) {
    for (;;) {
      auto r = c.read_request();
      if (!r) return;
      std::string out;
      if (r->method == "HEAD") {
        out = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nX-Kind: head\r\n\r\n";
      } else if (r->target == "/204") {
        out = "HTTP/1.1 204 No Content\r\nX-Kind: 204\r\n\r\n";
      } else if (r->target == "/304") {
        out = "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"e1\"\r\n\r\n";
      } else if (r->target == "/head-chunked" && r->method == "HEAD") {
        out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      } else {
        out = http_response(200, "after");
      }
      if (!c.write(out)) return;
    }
  });
  ASSERT_TRUE(start_with(up));
  HttpClient client = connect();
  struct Step {
    std::string method, target;
    int status;
  };
  for (const Step& s :
       {Step{"HEAD", "/", 200}, Step{"GET", "/after", 200}, Step{"GET", "/204", 204},
        Step{"GET", "/after", 200}, Step{"GET", "/304", 304}, Step{"GET", "/after", 200},
        Step{"HEAD", "/head-chunked", 200}, Step{"GET", "/after", 200}}) {
    SCOPED_TRACE(s.method + " " + s.target);
    ASSERT_TRUE(client.send(request(s.method, s.target, "t")));
    std::string error;
    auto r = client.read_response(Millis(5000), s.method == "HEAD", &error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->status, s.status);
    EXPECT_EQ(r->header("connection").value_or(""), "keep-alive");
    if (s.target == "/after") {
      EXPECT_EQ(r->body, "after");
    }
    if (s.method == "HEAD" && s.target == "/") {
      // HEAD keeps the Content-Length of the GET it stands for.
      EXPECT_EQ(r->header("content-length").value_or(""), "1234");
    }
    if (s.target == "/304") {
      EXPECT_EQ(r->header("etag").value_or(""), "\"e1\"");
    }
    // Nothing beyond the response: a stray body byte would sit here.
    client.read_for(Millis(50));
    EXPECT_EQ(client.pending(), "");
  }
  EXPECT_EQ(up.connections(), 1u);
}

// The upstream answers "100 Continue" only after seeing the head; the client
// sends its body only after the 100 reached it, then gets the final response.
TEST_F(HttpSemanticsTest, ExpectContinueRelaysTheInterimResponseThenTheFinalOne) {
  Upstream up([](UpstreamConn& c) {
    auto r = c.read_request(Millis(10000), /*read_body=*/false);
    if (!r) return;
    if (r->header("expect").value_or("") != "100-continue") {
      c.write(http_response(417, "expect header was not forwarded"));
      return;
    }
    c.write("HTTP/1.1 100 Continue\r\n\r\n");
    std::string body;
    if (!c.stream_body(
            *r, [&](const char* d, size_t n) { body.append(d, n); }, Millis(10000)))
      return;
    c.write(http_response(201, "got:" + body));
  });
  ASSERT_TRUE(start_with(up));
  HttpClient client = connect();
  ASSERT_TRUE(client.send(
      "POST /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  std::string error;
  auto interim = client.read_response(Millis(5000), false, &error);
  ASSERT_TRUE(interim) << error;
  EXPECT_EQ(interim->status, 100);
  EXPECT_EQ(client.pending(), "") << "the final response came before the body was sent";
  ASSERT_TRUE(client.send("hello"));
  auto final_response = client.read_response(Millis(5000), false, &error);
  ASSERT_TRUE(final_response) << error;
  EXPECT_EQ(final_response->status, 201);
  EXPECT_EQ(final_response->body, "got:hello");
  EXPECT_EQ(final_response->header("connection").value_or(""), "keep-alive");
}

// The client asks to close: the response says so and the connection ends after
// it, while the upstream connection (the hop-by-hop close is not forwarded) is
// kept for the next client.
TEST_F(HttpSemanticsTest, ClientConnectionCloseIsHonoured) {
  Upstream up(echo_handler("a"));
  ASSERT_TRUE(start_with(up));
  HttpClient client = connect();
  ASSERT_TRUE(client.send(request("GET", "/", "t", "Connection: close\r\n") +
                          request("GET", "/never", "t")));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("connection").value_or(""), "close");
  std::string extra;
  EXPECT_EQ(client.wait_closed(Millis(3000), &extra), StreamEnd::eof)
      << "a request after Connection: close was answered: " << extra;
  EXPECT_EQ(up.requests(), 1u) << "the request after Connection: close was forwarded";
}

// After "Connection: close" sluice half-closes and lingers up to 2 s to drain
// late client bytes. A client that has closed too leaves nothing to drain: the
// socket must be released at once, not when the linger timer runs out (which
// also holds SIGTERM shutdown for those 2 s).
// DISABLED: sluice misses the client's EOF while lingering — the receive that
// close_after_flush() cancelled is never re-armed (HttpSession::on_receive
// -ECANCELED -> pump(), lingering_ set while receiving was still true), so the
// session lives until kLingerMs. Re-enable once fixed.
TEST_F(HttpSemanticsTest, LingeringConnectionEndsWhenTheClientCloses) {
  Upstream up(echo_handler("a"));
  ASSERT_TRUE(start_with(up));
  const size_t idle_fds = open_fds(sluice().pid()).value_or(0);
  {
    HttpClient client = connect();
    ASSERT_TRUE(client.send(request("GET", "/", "t", "Connection: close\r\n")));
    ASSERT_TRUE(client.read_response());
    ASSERT_EQ(client.wait_closed(Millis(3000)), StreamEnd::eof);
  }  // closed here
  // The pooled upstream connection stays; the client's socket must go.
  const auto start = std::chrono::steady_clock::now();
  while (open_fds(sluice().pid()).value_or(0) > idle_fds + 1 &&
         std::chrono::steady_clock::now() - start < Millis(3000))
    std::this_thread::sleep_for(Millis(10));
  const auto took =
      std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(took, 500) << "the client's socket was held for " << took << " ms after it closed";
  const auto stop_start = std::chrono::steady_clock::now();
  EXPECT_TRUE(stop_sluice().success());
  EXPECT_LT(
      std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - stop_start).count(),
      1000);
}

// HTTP/1.0: no Host needed, no keep-alive unless asked for; the upstream gets an
// HTTP/1.1 request with a Host.
TEST_F(HttpSemanticsTest, Http10RequestIsAnsweredAndClosed) {
  Upstream up(echo_handler("a"));
  ASSERT_TRUE(start_with(up));
  HttpClient client = connect();
  ASSERT_TRUE(client.send("GET /old HTTP/1.0\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("connection").value_or(""), "close");
  EXPECT_EQ(client.wait_closed(Millis(3000)), StreamEnd::eof);
  auto seen = up.last();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->version, "HTTP/1.1");
  EXPECT_EQ(seen->target, "/old");
}

TEST_F(HttpSemanticsTest, Http10KeepAliveRequestKeepsTheConnection) {
  Upstream up(echo_handler("a"));
  ASSERT_TRUE(start_with(up));
  HttpClient client = connect();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(client.send("GET /ka HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n"));
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("connection").value_or(""), "keep-alive");
  }
  EXPECT_EQ(client.wait_closed(Millis(100)), StreamEnd::timeout);
}

// An HTTP/1.0 client cannot decode chunked coding (RFC 9112 §6.1: a server MUST
// NOT send it to a 1.0 recipient). When the upstream answers chunked, sluice has
// to de-chunk or fall back to close-delimited framing.
TEST_F(HttpSemanticsTest, Http10ClientNeverReceivesChunkedEncoding) {
  Upstream up([](UpstreamConn& c) {
    if (!c.read_request()) return;
    c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  });
  ASSERT_TRUE(start_with(up));
  HttpClient client = connect();
  ASSERT_TRUE(client.send("GET / HTTP/1.0\r\nHost: t\r\n\r\n"));
  auto head = client.read_head(Millis(5000));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_FALSE(head->chunked()) << "HTTP/1.0 client got:\n" << head->raw_head;
  client.read_for(Millis(2000));
  // A 1.0 client reads everything up to the close as the body.
  EXPECT_EQ(client.pending(), "hello");
}

// WebSocket-style upgrade: after the 101 the connection is a byte tunnel. Then
// the client half-closes: its FIN must reach the upstream, which still answers.
TEST_F(HttpSemanticsTest, UpgradeTunnelsBytesBothWaysAndPassesTheClientHalfClose) {
  Upstream up([](UpstreamConn& c) {
    auto r = c.read_request();
    if (!r) return;
    if (r->header("upgrade").value_or("") != "websocket") {
      c.write(http_response(400, "no upgrade header"));
      return;
    }
    c.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: abc\r\n\r\nserver-hello");
    std::string in = c.read_exact(10, Millis(5000));  // "ping-ping!"
    c.write("echo:" + in);
    std::string rest = c.read_until_eof(Millis(5000));  // ends at the client's FIN
    c.write("after-fin:" + rest);
    c.shutdown_write();
  });
  ASSERT_TRUE(start_with(up));
  HttpClient client = connect();
  ASSERT_TRUE(client.send(
      "GET /chat HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  auto r = client.read_head(Millis(5000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 101);
  EXPECT_EQ(r->header("upgrade").value_or(""), "websocket");
  EXPECT_EQ(r->header("sec-websocket-accept").value_or(""), "abc");
  ASSERT_TRUE(client.read_until("server-hello", Millis(5000))) << client.pending();
  client.take_pending();
  ASSERT_TRUE(client.send("ping-ping!"));
  ASSERT_TRUE(client.read_until("echo:ping-ping!", Millis(5000))) << client.pending();
  client.take_pending();
  ASSERT_TRUE(client.send("last words"));
  client.shutdown_write();
  client.read_for(Millis(5000));  // until the upstream's FIN comes through
  EXPECT_EQ(client.pending(), "after-fin:last words");
  EXPECT_TRUE(client.eof()) << "the upstream's FIN did not reach the client";
  auto seen = up.last();
  ASSERT_TRUE(seen);
  // The upgrade survives hop-by-hop stripping: Upgrade and "Connection: upgrade".
  EXPECT_EQ(seen->header("upgrade").value_or(""), "websocket");
  EXPECT_EQ(seen->header("connection").value_or(""), "upgrade");
  EXPECT_EQ(seen->header("sec-websocket-key").value_or(""), "dGhlIHNhbXBsZSBub25jZQ==");
}

// The other half-close: the upstream finishes sending first (FIN) but keeps
// reading. The client still sends; those bytes must reach the upstream, and the
// client must see the tunnel's end as an EOF.
// DISABLED: passes in release builds but is a heap-use-after-free under ASan:
// HttpSession::pump() (called from UpstreamConnection::on_send ->
// on_upstream_sent) calls finish_tunnel() -> abort(), which deletes the session
// (in_callback_ is false in upstream callbacks), and pump() then reads closing_
// from freed memory (http_session.cpp, the `if (!closing_) adjust_backpressure()`
// line after finish_tunnel()). Re-enable once fixed.
TEST_F(HttpSemanticsTest, UpgradeTunnelPassesTheUpstreamHalfClose) {
  Upstream up([](UpstreamConn& c) {
    if (!c.read_request()) return;
    c.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        "bye-from-upstream");
    c.shutdown_write();
    std::string rest = c.read_until_eof(Millis(5000));
    // The test thread reads this through notes() once the tunnel is done.
    c.note(rest);
  });
  ASSERT_TRUE(start_with(up));
  HttpClient client = connect();
  ASSERT_TRUE(
      client.send("GET /chat HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
                  "Upgrade: websocket\r\n\r\n"));
  auto r = client.read_head(Millis(5000));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 101);
  ASSERT_TRUE(client.read_until("bye-from-upstream", Millis(5000)));
  client.take_pending();
  // Give the upstream's FIN time to cross sluice before the client answers.
  std::this_thread::sleep_for(Millis(200));
  ASSERT_TRUE(client.send("client-still-talking"));
  client.shutdown_write();
  EXPECT_EQ(client.wait_closed(Millis(5000)), StreamEnd::eof);
  const auto deadline = std::chrono::steady_clock::now() + Millis(3000);
  while (up.notes().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(Millis(10));
  EXPECT_EQ(up.notes(), "client-still-talking")
      << "bytes the client sent after the upstream's half-close were lost";
}

// A 101 the client did not ask for cannot become a tunnel.
TEST_F(HttpSemanticsTest, UnrequestedSwitchingProtocolsIsABadGateway) {
  Upstream up([](UpstreamConn& c) {
    if (!c.read_request()) return;
    c.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
  });
  ASSERT_TRUE(start_with(up));
  auto r = fetch(request("GET", "/", "t"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->header("x-sluice-error").value_or(""), "unexpected-upgrade");
}

}  // namespace
}  // namespace sluice::testing
