// The connection-level config keys of issue #13 over the real binary: max_connections per
// listener and in total (the extra connection is closed at accept, counted, and room comes
// back when a connection ends), a cluster's pool (max_idle 0 keeps no upstream connection),
// and small receive buffers that still carry a large body.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/http_integration/http_fixture.hpp"
#include "tests/http_integration/upstream.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class HttpConnectionLimitsTest : public HttpSluiceTest {
 protected:
  HttpConfig base() const {
    HttpConfig config;
    config.clusters = {{"a", {up_.address()}}};
    config.routes = {"{ match: {}, cluster: a }"};
    return config;
  }

  // A connection that was served a request, so it surely holds a slot. The slot of start_sluice's
  // readiness probe is freed asynchronously, so a refusal is retried for a while.
  HttpClient served_connection() {
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    for (;;) {
      HttpClient c = connect();
      if (c.send(request("GET", "/", "t"))) {
        auto r = c.read_response(Millis(2000));
        if (r && r->status == 200) return c;
      }
      if (Clock::now() > deadline) {
        ADD_FAILURE() << "no connection was served";
        return c;
      }
      std::this_thread::sleep_for(Millis(50));
    }
  }

  // `limit` connections are served, the next is closed without an answer, and once one of
  // the served ones closes a new one is served again.
  void expect_limit(size_t limit) {
    std::vector<HttpClient> held;
    for (size_t i = 0; i < limit; ++i) held.push_back(served_connection());
    HttpClient extra = connect();
    extra.send(request("GET", "/", "t"));  // may fail: the socket may be closed already
    std::string error;
    EXPECT_FALSE(extra.read_response(Millis(2000), false, &error)) << "the extra one was served";
    held.pop_back();  // closes it: its slot comes back
    HttpClient again = served_connection();
    EXPECT_TRUE(again.valid());
    // The held ones still work.
    ASSERT_TRUE(held[0].send(request("GET", "/still", "t")));
    auto r = held[0].read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }

  Upstream up_{echo_handler("a")};
};

TEST_F(HttpConnectionLimitsTest, ListenerMaxConnectionsClosesTheExtraConnection) {
  HttpConfig config = base();
  config.listener_extra = "    max_connections: 2\n";
  ASSERT_TRUE(start_sluice(config));
  expect_limit(2);
  EXPECT_EQ(stop_sluice().success(), true);
  EXPECT_NE(sluice().stderr_text().find("the listener's max_connections (2) reached"),
            std::string::npos)
      << sluice().stderr_text();
}

TEST_F(HttpConnectionLimitsTest, GlobalMaxConnectionsClosesTheExtraConnection) {
  HttpConfig config = base();
  config.extra = "max_connections: 3\n";
  ASSERT_TRUE(start_sluice(config));
  expect_limit(3);
  EXPECT_EQ(stop_sluice().success(), true);
  EXPECT_NE(sluice().stderr_text().find("the global max_connections (3) reached"),
            std::string::npos)
      << sluice().stderr_text();
}

// pool.max_idle: 0 closes each upstream connection after its request; the default pools it.
TEST_F(HttpConnectionLimitsTest, PoolMaxIdleDecidesWhetherUpstreamConnectionsAreReused) {
  for (const bool pooled : {true, false}) {
    SCOPED_TRACE(pooled ? "default pool" : "max_idle: 0");
    Upstream up(echo_handler("p"));
    HttpConfig config;
    config.clusters = {{"p", {up.address()}}};
    if (!pooled) config.clusters[0].extra = "    pool: { max_idle: 0 }\n";
    config.routes = {"{ match: {}, cluster: p }"};
    ASSERT_TRUE(start_sluice(config));
    HttpClient c = connect();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(c.send(request("GET", "/" + std::to_string(i), "t")));
      auto r = c.read_response();
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 200);
    }
    EXPECT_EQ(up.requests(), 3u);
    EXPECT_EQ(up.connections(), pooled ? 1u : 3u);
    EXPECT_EQ(stop_sluice().success(), true);
  }
}

// 64 buffers of 4 KiB per worker (256 KiB) still carry a 4 MiB response whole.
TEST_F(HttpConnectionLimitsTest, SmallReceiveBuffersCarryALargeBody) {
  const std::string big = [] {
    std::string s(4 << 20, '\0');
    for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
  }();
  Upstream up([&](UpstreamConn& c) {
    while (auto r = c.read_request(Millis(10000))) c.write(http_response(200, big));
  });
  HttpConfig config;
  config.clusters = {{"b", {up.address()}}};
  config.routes = {"{ match: {}, cluster: b }"};
  config.extra = "buffers: { size: 4KiB, count: 64 }\n";
  ASSERT_TRUE(start_sluice(config));
  auto r = fetch(request("GET", "/big", "t"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), big.size());
  EXPECT_TRUE(r->body == big);
}

}  // namespace
}  // namespace sluice::testing
