// Accepting the PROXY protocol: what a header the test writes itself does to a connection.
// Good ones (v1, v2 split byte by byte, LOCAL) reach the upstream with the client they name;
// bad ones (bad checksum, untrusted source, too late) are closed unanswered and counted by
// reason in sluice_downstream_proxy_protocol_refused_total.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/http_integration/upstream.hpp"
#include "tests/observability/obs_fixture.hpp"
#include "tests/proxy_protocol/pp_util.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class ProxyProtocolAccept : public ObsTest {
 protected:
  // An http listener `web` requiring a header from 127.0.0.1 within `timeout`, in front of a
  // scripted upstream that answers every request with 200.
  bool start(const std::string& timeout = "2s") {
    upstream_ = std::make_unique<Upstream>([](UpstreamConn& c) {
      while (auto r = c.read_request())
        if (!c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) return;
    });
    port_ = free_loopback_port();
    return start_sluice("workers: 1\n" + admin_yaml() +
                        "log: { access: { path: " + dir_.file("access.log") +
                        ", format: json } }\n"
                        "listeners:\n"
                        "  - name: web\n"
                        "    listen: 127.0.0.1:" +
                        std::to_string(port_) +
                        "\n"
                        "    protocol: http\n"
                        "    proxy_protocol: { trusted: [127.0.0.1/32], timeout: " +
                        timeout +
                        " }\n"
                        "    routes: [{ match: { path_prefix: / }, cluster: app }]\n"
                        "clusters:\n"
                        "  - { name: app, endpoints: [{ address: " +
                        upstream_->address() + " }] }\n");
  }

  double refused(const std::string& reason) {
    return scrape().sum("sluice_downstream_proxy_protocol_refused_total",
                        {{"listener", "web"}, {"reason", reason}});
  }

  // Sends `bytes` and expects sluice to close without answering.
  void expect_closed_unanswered(const Socket& s, const std::string& bytes) {
    if (!bytes.empty()) {
      ASSERT_TRUE(send_all(s, bytes, Millis(2000)));
    }
    const ReceiveResult r = recv_until_eof(s, Millis(5000));
    EXPECT_NE(r.end, StreamEnd::timeout) << "sluice kept the connection open";
    EXPECT_EQ(r.data, "") << "sluice answered a connection it should have refused";
  }

  std::unique_ptr<Upstream> upstream_;
  uint16_t port_ = 0;
};

TEST_F(ProxyProtocolAccept, V1NamesTheClientForXForwardedForAndTheAccessLog) {
  ASSERT_TRUE(start());
  HttpClient client(connect_from("127.0.0.1", port_));
  ASSERT_TRUE(client.send(proxy_header("198.51.100.7", 40001, port_) + request("GET", "/a")));
  auto first = client.read_response(Millis(5000));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  // A second request on the same connection: still that client.
  EXPECT_EQ(roundtrip(client, request("GET", "/b")).status, 200);
  ASSERT_TRUE(upstream_->wait_requests(2, Millis(5000)));
  for (const UpstreamRequest& seen : upstream_->received())
    EXPECT_EQ(seen.header("X-Forwarded-For").value_or("<none>"), "198.51.100.7");
  auto lines = wait_log_lines(dir_.file("access.log"), 2);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(field(lines[0], "client"), "198.51.100.7:40001");
  EXPECT_EQ(refused("malformed") + refused("untrusted") + refused("timeout"), 0);
}

TEST_F(ProxyProtocolAccept, V2SplitByteByByteWithItsRequestBehind) {
  ASSERT_TRUE(start());
  Socket s = connect_from("127.0.0.1", port_);
  ASSERT_TRUE(s.valid());
  const std::string header = proxy_header("2001:db8::7", 51000, port_, /*v2=*/true);
  for (char byte : header) {
    ASSERT_TRUE(send_all(s, std::string(1, byte), Millis(1000)));
    std::this_thread::sleep_for(Millis(2));  // separate segments, separate receives
  }
  HttpClient client(std::move(s));
  Response r = roundtrip(client, request("GET", "/split"));
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(upstream_->wait_requests(1, Millis(5000)));
  EXPECT_EQ(upstream_->last()->header("X-Forwarded-For").value_or("<none>"), "2001:db8::7");
}

TEST_F(ProxyProtocolAccept, V2LocalKeepsTheSocketsAddress) {
  ASSERT_TRUE(start());
  // A balancer's own health check: LOCAL, no addresses.
  const std::string local =
      std::string("\r\n\r\n\0\r\nQUIT\n", 12) + std::string("\x20\x00\x00\x00", 4);
  HttpClient client(connect_from("127.0.0.1", port_));
  ASSERT_TRUE(client.send(local));
  Response r = roundtrip(client, request("GET", "/local"));
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(upstream_->wait_requests(1, Millis(5000)));
  EXPECT_EQ(upstream_->last()->header("X-Forwarded-For").value_or("<none>"), "127.0.0.1");
}

TEST_F(ProxyProtocolAccept, V2BadChecksumIsRefusedAndCounted) {
  ASSERT_TRUE(start());
  std::string header = proxy_header("198.51.100.7", 40001, port_, /*v2=*/true);
  header.back() ^= 0x01;  // the last byte is the CRC32C's
  Socket s = connect_from("127.0.0.1", port_);
  ASSERT_TRUE(s.valid());
  expect_closed_unanswered(s, header + request("GET", "/"));
  EXPECT_EQ(wait_sum("sluice_downstream_proxy_protocol_refused_total",
                     {{"listener", "web"}, {"reason", "malformed"}}, 1),
            1);
  EXPECT_EQ(upstream_->connections(), 0u);
  EXPECT_EQ(count_occurrences(sluice().stderr_text(), "v2 CRC32C checksum does not match"), 1u);
}

TEST_F(ProxyProtocolAccept, PlainHttpWithoutAHeaderIsMalformed) {
  ASSERT_TRUE(start());
  Socket s = connect_from("127.0.0.1", port_);
  ASSERT_TRUE(s.valid());
  expect_closed_unanswered(s, request("GET", "/"));
  EXPECT_EQ(wait_sum("sluice_downstream_proxy_protocol_refused_total",
                     {{"listener", "web"}, {"reason", "malformed"}}, 1),
            1);
  EXPECT_EQ(upstream_->connections(), 0u);
}

TEST_F(ProxyProtocolAccept, AnUntrustedSourceIsRefusedEvenWithAValidHeader) {
  ASSERT_TRUE(start());
  for (int i = 0; i < 3; ++i) {
    Socket s = connect_from("127.0.0.2", port_);  // not in trusted: [127.0.0.1/32]
    ASSERT_TRUE(s.valid());
    expect_closed_unanswered(s, proxy_header("198.51.100.7", 40001, port_) + request("GET", "/"));
  }
  EXPECT_EQ(wait_sum("sluice_downstream_proxy_protocol_refused_total",
                     {{"listener", "web"}, {"reason", "untrusted"}}, 3),
            3);
  EXPECT_EQ(upstream_->connections(), 0u);
  // Logged, and throttled: not one line per connection.
  const size_t lines = count_occurrences(sluice().stderr_text(), "not in proxy_protocol.trusted");
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 2u);
  // The trusted source still gets through.
  HttpClient ok(connect_from("127.0.0.1", port_));
  ASSERT_TRUE(ok.send(proxy_header("198.51.100.8", 1, port_)));
  EXPECT_EQ(roundtrip(ok, request("GET", "/")).status, 200);
}

TEST_F(ProxyProtocolAccept, AHeaderThatDoesNotArriveInTimeClosesTheConnection) {
  ASSERT_TRUE(start("300ms"));
  Socket s = connect_from("127.0.0.1", port_);
  ASSERT_TRUE(s.valid());
  const auto began = Clock::now();
  ASSERT_TRUE(send_all(s, "PROXY TCP4 198.51.100.7 ", Millis(1000)));  // and nothing more
  const ReceiveResult r = recv_until_eof(s, Millis(5000));
  const auto waited = std::chrono::duration_cast<Millis>(Clock::now() - began);
  EXPECT_NE(r.end, StreamEnd::timeout);
  EXPECT_EQ(r.data, "");
  EXPECT_GE(waited.count(), 250);
  EXPECT_LE(waited.count(), 2500);  // the timeout plus a worker tick, with a loaded box's slack
  EXPECT_EQ(wait_sum("sluice_downstream_proxy_protocol_refused_total",
                     {{"listener", "web"}, {"reason", "timeout"}}, 1),
            1);
  EXPECT_EQ(upstream_->connections(), 0u);
}

TEST_F(ProxyProtocolAccept, APeerThatLeavesBeforeAHeaderIsNotCounted) {
  ASSERT_TRUE(start());
  {
    Socket s = connect_from("127.0.0.1", port_);  // a balancer's TCP check: connect, close
    ASSERT_TRUE(s.valid());
  }
  HttpClient client(connect_from("127.0.0.1", port_));
  ASSERT_TRUE(client.send(proxy_header("198.51.100.7", 2, port_)));
  EXPECT_EQ(roundtrip(client, request("GET", "/")).status, 200);
  EXPECT_EQ(refused("malformed") + refused("untrusted") + refused("timeout"), 0);
}

}  // namespace
}  // namespace sluice::testing
