// The admin server when the process runs out of file descriptors (issue #13): the listener
// rests and retries instead of spinning the control loop, and serves the backlog afterwards.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <vector>

#include "proxy/control/admin/admin_server.hpp"
#include "tests/admin/admin_test_util.hpp"
#include "tests/support/socket.hpp"

namespace sluice::proxy::admin {
namespace {

using namespace std::chrono_literals;
using control::ControlLoop;
using sluice::testing::connect_loopback;
using sluice::testing::recv_until_eof;
using sluice::testing::send_all;
using sluice::testing::Socket;
using test::loopback;
using test::text;

// Out of descriptors, the listener stays readable while its backlog waits: the
// server must rest it (and retry), not wake the loop over and over.
TEST(AdminServer, OutOfDescriptorsTheListenerRestsInsteadOfSpinning) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizer runtime itself needs free descriptors";
#endif
  ControlLoop loop;
  AdminServer server(loop);
  ASSERT_EQ(server.open(loopback(0)), "");
  server.route("GET", "/live", [](const AdminRequest&) { return text("live\n"); });
  std::string error;
  Socket client = connect_loopback(server.port(), 2s, &error);  // waits in the backlog
  ASSERT_TRUE(client.valid()) << error;
  ASSERT_TRUE(send_all(client, "GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 2s));

  // Take every descriptor left (under a lowered soft limit).
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> hogs;
  for (int fd = ::dup(0); fd >= 0; fd = ::dup(0)) hogs.push_back(fd);
  ASSERT_EQ(errno, EMFILE);
  size_t handlers = 0;
  const auto until = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < until) handlers += loop.run_once(50ms);
  for (int fd : hogs) ::close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  // A few retries (every 100 ms), not a busy loop.
  EXPECT_LT(handlers, 20u);

  // Descriptors are back: the waiting client is served.
  for (int i = 0; i < 50 && server.connection_count() == 0; ++i) loop.run_once(20ms);
  for (int i = 0; i < 10; ++i) loop.run_once(10ms);
  const auto answer = recv_until_eof(client, 2s);
  EXPECT_EQ(answer.data.rfind("HTTP/1.1 200 ", 0), 0u) << answer.data;
}

}  // namespace
}  // namespace sluice::proxy::admin
