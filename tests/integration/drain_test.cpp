// Graceful stop: SIGTERM closes the listeners at once but lets connections
// already relaying finish, then sluice exits 0 by itself.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>

#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/sluice_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class DrainTest : public SluiceTest {};

// Reads exactly `n` bytes (the echo of what was just sent); the fixture's
// sockets are non-blocking, so wait with poll().
std::string read_n(const Socket& s, size_t n, Millis timeout) {
  std::string out;
  const auto deadline = Clock::now() + timeout;
  char buf[256];
  while (out.size() < n && Clock::now() < deadline) {
    pollfd p{s.fd(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t got = ::recv(s.fd(), buf, std::min(sizeof buf, n - out.size()), 0);
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

TEST_F(DrainTest, SigtermRefusesNewConnectionsAndLetsOpenRelaysFinish) {
  Backend& echo = add_backend({.mode = "echo", .name = "echo"});
  ASSERT_TRUE(start_sluice({.endpoints = {echo.address()}, .idle_timeout = "20s"}));
  Socket open = connect();
  ASSERT_TRUE(open.valid());
  ASSERT_TRUE(send_all(open, "before", Millis(1000)));
  ASSERT_EQ(read_n(open, 6, Millis(2000)), "before");

  ASSERT_EQ(::kill(sluice().pid(), SIGTERM), 0);

  // The listener goes away promptly: new connections are refused.
  bool refused = false;
  for (auto until = Clock::now() + Millis(2000); Clock::now() < until && !refused;) {
    Socket s = connect_loopback(port(), Millis(200));
    refused = !s.valid();
    if (!refused) std::this_thread::sleep_for(Millis(20));
  }
  EXPECT_TRUE(refused) << "sluice still accepts connections after SIGTERM";

  // The connection that was open keeps working until its client is done...
  ASSERT_TRUE(send_all(open, "during", Millis(1000)));
  EXPECT_EQ(read_n(open, 6, Millis(2000)), "during");
  ASSERT_TRUE(shutdown_write(open));
  ReceiveResult rest = recv_until_eof(open, Millis(3000));
  EXPECT_EQ(rest.end, StreamEnd::eof) << to_string(rest.end);

  // ...and then sluice exits cleanly on its own, long before the idle timeout.
  ExitStatus st = sluice().wait(Millis(5000));
  EXPECT_TRUE(st.success()) << st.to_string() << "\n" << sluice().describe();
}

}  // namespace
}  // namespace sluice::testing
