// An endpoint that leaves discovery takes no new connections at once, and a long TCP relay
// to it gets drain_timeout to finish, then is closed (logged as `endpoint-removed`); an
// endpoint that comes back within its drain keeps its relays.
#include "tests/discovery/discovery_fixture.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

class RemovalDrainTest : public FileDiscoveryTest {
 protected:
  void SetUp() override {
    add_backend("a", "echo");
    add_backend("b", "echo");
    add_backend("c", "echo");
    port_ = free_loopback_port();
    endpoints_path_ = dir_.file("endpoints.yaml");
  }
  // One round trip on an open relay: true when the echo came back.
  static bool echoes(const Socket& s, const std::string& text) {
    if (!send_all(s, text, Millis(1000))) return false;
    return recv_until_eof(s, Millis(300), text.size()).data == text;
  }
};

TEST_F(RemovalDrainTest, ARelayToARemovedEndpointGetsDrainTimeoutThenCloses) {
  write_endpoints({0});
  ASSERT_TRUE(start_sluice(tcp_yaml("1500ms")));
  Socket relay = connect_loopback(port_, Millis(2000));
  ASSERT_TRUE(echoes(relay, "first"));
  write_endpoints({0, 1});
  ASSERT_EQ(wait_published(2), 2u);
  write_endpoints({1});  // a leaves
  ASSERT_EQ(wait_published(1), 1u);
  const auto removed = std::chrono::steady_clock::now();
  // Within its drain the relay still works both ways.
  EXPECT_TRUE(echoes(relay, "still here"));
  // Then it is closed: drain_timeout (1.5 s) plus at most a worker tick (250 ms).
  const ReceiveResult end = recv_until_eof(relay, Millis(5000));
  const auto after = std::chrono::steady_clock::now() - removed;
  EXPECT_NE(end.end, StreamEnd::timeout);
  EXPECT_GE(after, 1200ms);
  EXPECT_LE(after, 2500ms);
  EXPECT_EQ(count_occurrences(sluice().stderr_text(),
                              "closing 1 connection relaying to endpoints "
                              "removed longer than drain_timeout ago"),
            1u)
      << sluice().stderr_text();
  // New connections meanwhile went to b, which still relays.
  Socket fresh = connect_loopback(port_, Millis(2000));
  EXPECT_TRUE(echoes(fresh, "new"));
}

TEST_F(RemovalDrainTest, AnEndpointReAddedWithinItsDrainKeepsItsRelays) {
  write_endpoints({0});
  ASSERT_TRUE(start_sluice(tcp_yaml("1s")));
  Socket relay = connect_loopback(port_, Millis(2000));
  ASSERT_TRUE(echoes(relay, "first"));
  write_endpoints({0, 1});
  ASSERT_EQ(wait_published(2), 2u);
  write_endpoints({1});
  ASSERT_EQ(wait_published(1), 1u);
  write_endpoints({0, 1});  // back before its drain ran out
  ASSERT_EQ(wait_published(2), 2u);
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(echoes(relay, "kept"));
  EXPECT_EQ(count_occurrences(sluice().stderr_text(), "relaying to endpoints removed"), 0u);
}

}  // namespace
}  // namespace sluice::testing
