// Local rate limits end to end: token buckets and sliding windows on HTTP
// routes (429 with rate-limit headers) and on TCP listeners (refused at accept).
// Rates are chosen so the refill during a burst is nil (1/min, 1/s), which
// makes the counts exact even on a loaded machine.
#include <thread>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class RateLimitTest : public PolicyTest {
 protected:
  // An http listener whose one route goes to backend b0 under rate limit `rl`.
  std::string http_yaml(uint16_t port, const std::string& limit_body,
                        const std::string& listener_extra = "",
                        const std::string& route_extra = "        rate_limit: rl\n") {
    return "workers: 1\n"
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port) +
           "\n"
           "    protocol: http\n" +
           listener_extra +
           "    routes:\n"
           "      - match: { path_prefix: / }\n"
           "        cluster: c\n" +
           route_extra +
           "clusters:\n"
           "  - name: c\n"
           "    endpoints:\n" +
           endpoints_yaml({backends_.at(0).address()}) +
           "rate_limits:\n"
           "  - name: rl\n" +
           limit_body;
  }
};

// Status of each request, in order, as "200"/"429"/"0 <error>".
std::vector<std::string> statuses(HttpClient& client, int n, const std::string& headers = "") {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    HttpResponse r = client.get("/", headers);
    out.push_back(r.ok() ? std::to_string(r.status) : "0 " + r.error);
  }
  return out;
}

std::vector<std::string> expect_codes(int ok, int limited) {
  std::vector<std::string> v(static_cast<size_t>(ok), "200");
  v.insert(v.end(), static_cast<size_t>(limited), "429");
  return v;
}

TEST_F(RateLimitTest, TokenBucketBurstThen429WithHeadersPerApiKey) {
  add_http_backend("b0");
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(port,
                                   "    key: \"header:X-Api-Key\"\n"
                                   "    algorithm: token_bucket\n"
                                   "    rate: 1/s\n"
                                   "    burst: 5\n")),
            0);
  HttpClient client(port);
  const std::string key_a = "X-Api-Key: alpha\r\n";
  const std::string key_b = "X-Api-Key: beta\r\n";

  // A burst: exactly `burst` answers from the backend, then 429s.
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = client.get("/", key_a);
    EXPECT_EQ(r.status, 200) << "request " << i << ": " << r.error;
    EXPECT_EQ(r.backend(), "b0");
  }
  HttpResponse limited = client.get("/", key_a);
  ASSERT_EQ(limited.status, 429) << limited.error;
  EXPECT_EQ(limited.header("x-sluice-error"), "rate-limited");
  EXPECT_EQ(limited.header("retry-after"), "1");
  EXPECT_EQ(limited.header("ratelimit-policy"), "\"rl\";q=1;w=1");
  // Nothing left; the bucket is full again in ~5 s (5 tokens at 1/s).
  const std::string state = limited.header("ratelimit");
  EXPECT_TRUE(state == "\"rl\";r=0;t=5" || state == "\"rl\";r=0;t=4") << state;
  EXPECT_NE(limited.header("connection"), "close");
  EXPECT_EQ(statuses(client, 2, key_a), expect_codes(0, 2));

  // Another key has its own bucket, on the very same connection.
  EXPECT_EQ(statuses(client, 6, key_b), expect_codes(5, 1));
  EXPECT_EQ(client.connects(), 1) << "a 429 closed the connection";

  // Obeying Retry-After gets exactly one more request through.
  std::this_thread::sleep_for(std::chrono::seconds(1) + Millis(50));
  EXPECT_EQ(statuses(client, 2, key_a), expect_codes(1, 1));
  EXPECT_EQ(client.connects(), 1);
}

TEST_F(RateLimitTest, ClientIpKeyCountsEachSourceAddressSeparately) {
  add_http_backend("b0");
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(port,
                                   "    key: client_ip\n"
                                   "    rate: 1/min\n"
                                   "    burst: 3\n")),
            0);
  for (const char* ip : {"127.0.0.2", "127.0.0.3", "127.0.0.4"}) {
    HttpClient client(port, ip);
    EXPECT_EQ(statuses(client, 5), expect_codes(3, 2)) << ip;
  }
  // The same address on a new connection is still out of tokens.
  HttpClient again(port, "127.0.0.2");
  EXPECT_EQ(statuses(again, 1), expect_codes(0, 1));
}

TEST_F(RateLimitTest, RouteKeyCountsEachRouteSeparately) {
  add_http_backend("b0");
  uint16_t port = free_loopback_port();
  const std::string yaml =
      "workers: 1\n"
      "listeners:\n"
      "  - name: web\n"
      "    listen: 127.0.0.1:" +
      std::to_string(port) +
      "\n"
      "    protocol: http\n"
      "    routes:\n"
      "      - match: { path_prefix: /a }\n"
      "        cluster: c\n"
      "        rate_limit: rl\n"
      "      - match: { path_prefix: /b }\n"
      "        cluster: c\n"
      "        rate_limit: rl\n"
      "      - match: { path_prefix: / }\n"
      "        cluster: c\n"
      "clusters:\n"
      "  - name: c\n"
      "    endpoints:\n" +
      endpoints_yaml({backends_[0].address()}) +
      "rate_limits:\n"
      "  - { name: rl, key: route, rate: 1/min, burst: 2 }\n";
  ASSERT_GE(start_sluice(yaml), 0);
  // Different clients share a route's bucket; the other route has its own;
  // the unlimited route is untouched.
  HttpClient c1(port, "127.0.0.2");
  HttpClient c2(port, "127.0.0.3");
  EXPECT_EQ(c1.get("/a/1").status, 200);
  EXPECT_EQ(c2.get("/a/2").status, 200);
  EXPECT_EQ(c1.get("/a/3").status, 429);
  EXPECT_EQ(c2.get("/b/1").status, 200);
  EXPECT_EQ(c1.get("/b/2").status, 200);
  EXPECT_EQ(c2.get("/b/3").status, 429);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c1.get("/free").status, 200);
}

// docs/config.md: a listener's `rate_limit` "limits new connections (tcp) or
// requests (http)". Regression: on http listeners it used to be applied at
// accept, per connection, so a keep-alive client sent unlimited requests.
TEST_F(RateLimitTest, HttpListenerRateLimitCountsRequests) {
  add_http_backend("b0");
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(port,
                                   "    key: client_ip\n"
                                   "    rate: 1/min\n"
                                   "    burst: 3\n",
                                   "    rate_limit: rl\n", "")),
            0);
  HttpClient client(port);
  EXPECT_EQ(statuses(client, 6), expect_codes(3, 3));
  EXPECT_EQ(client.connects(), 1);
}

TEST_F(RateLimitTest, TcpListenerRefusesConnectionsOverTheRateAtAccept) {
  Backend& backend = add_http_backend("b0");
  uint16_t port = free_loopback_port();
  const std::string yaml =
      "workers: 1\n"
      "listeners:\n"
      "  - name: tcp\n"
      "    listen: 127.0.0.1:" +
      std::to_string(port) +
      "\n"
      "    protocol: tcp\n"
      "    cluster: c\n"
      "    rate_limit: conns\n"
      "clusters:\n"
      "  - name: c\n"
      "    endpoints:\n" +
      endpoints_yaml({backend.address()}) +
      "rate_limits:\n"
      "  - { name: conns, key: client_ip, algorithm: token_bucket, rate: 1/min, burst: 3 }\n";
  ASSERT_GE(start_sluice(yaml), 0);
  std::vector<std::string> got;
  for (int i = 0; i < 6; ++i) got.push_back(tcp_fetch_backend(port, "127.0.0.2"));
  EXPECT_EQ(got, (std::vector<std::string>{"b0", "b0", "b0", "", "", ""}));
  // Refused connections never reached the backend.
  EXPECT_EQ(backend.connections(), 3u);
  // Another client address has its own allowance.
  EXPECT_EQ(tcp_fetch_backend(port, "127.0.0.3"), "b0");
  EXPECT_EQ(backend.connections(), 4u);
  // A refused connection is closed at once, not left hanging.
  Socket s = connect_from("127.0.0.2", port, Millis(2000));
  ASSERT_TRUE(s.valid());
  Clock::time_point t0 = Clock::now();
  ReceiveResult r = recv_until_eof(s, Millis(3000));
  EXPECT_TRUE(r.data.empty());
  EXPECT_NE(r.end, StreamEnd::timeout);
  EXPECT_LT(Clock::now() - t0, Millis(1000));
  EXPECT_EQ(backend.connections(), 4u);
}

// At a steady overload a sliding window admits `rate` per second. Skipping the
// first second (the first window takes its whole allowance at once), the
// admitted count over the next 3 s must be rate × 3 within 5%.
TEST_F(RateLimitTest, SlidingWindowAdmitsTheRateUnderSteadyOverload) {
  add_http_backend("b0");
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(port,
                                   "    key: global\n"
                                   "    algorithm: sliding_window\n"
                                   "    rate: 50/s\n")),
            0);
  HttpClient client(port);
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::seconds(1);
  const auto measure_to = measure_from + std::chrono::seconds(3);
  int admitted = 0, limited = 0, other = 0, warmup_admitted = 0;
  // Paced at 400 requests/s (8× the rate) so the load is steady, not a flood.
  auto next = start;
  while (Clock::now() < measure_to) {
    std::this_thread::sleep_until(next);
    next += std::chrono::microseconds(2500);
    const auto sent = Clock::now();
    HttpResponse r = client.get("/");
    const bool measured = sent >= measure_from && sent < measure_to;
    if (r.status == 200) {
      (measured ? admitted : warmup_admitted) += 1;
    } else if (r.status == 429) {
      limited += measured;
    } else {
      ++other;
    }
  }
  std::printf("  warm-up admitted %d; measured: admitted %d, limited %d\n", warmup_admitted,
              admitted, limited);
  EXPECT_EQ(other, 0);
  EXPECT_GE(warmup_admitted, 50);  // the first window's allowance, at least
  EXPECT_NEAR(admitted, 150, 8);
  EXPECT_GT(limited, 300) << "the load was not an overload; the measurement says nothing";
}

}  // namespace
}  // namespace sluice::testing
