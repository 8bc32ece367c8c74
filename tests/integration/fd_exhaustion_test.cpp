// Descriptor exhaustion (issue #13): with the limit reached, sluice keeps
// descriptors for the upstream sockets of clients it already accepted,
// refuses the rest at accept instead of accepting them and failing their
// relay, does not spin while short, logs the shortage once rather than per
// attempt, and serves normally again once descriptors are free.
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/sluice_fixture.hpp"

namespace sluice::testing {
namespace {

// utime + stime of `pid`, in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

class FdExhaustionTest : public SluiceTest {};

TEST_F(FdExhaustionTest, AcceptedClientsAreServedTheRestRefusedWithoutSpinning) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizer runtime itself needs free descriptors";
#endif
  Backend& echo = add_backend({.mode = "echo", .name = "echo"});
  launcher_ = {"/usr/bin/prlimit", "--nofile=128:128"};  // prlimit execs: the pid stays sluice's
  const uint16_t admin_port = free_loopback_port();
  ASSERT_TRUE(
      start_sluice({.endpoints = {echo.address()},
                    .idle_timeout = "30s",
                    .extra = "admin: { listen: 127.0.0.1:" + std::to_string(admin_port) + " }\n"}));

  // More clients than descriptors: each relayed one holds two (client, upstream).
  std::vector<Socket> flood;
  for (int i = 0; i < 150; ++i) {
    Socket s = connect_loopback(port(), Millis(2000));
    if (!s.valid()) continue;
    send_all(s, "ping " + std::to_string(i), Millis(200));
    flood.push_back(std::move(s));
  }
  std::this_thread::sleep_for(Millis(500));
  // Every client sluice relays gets its echo; the others are refused (closed
  // unanswered) or still wait in the backlog. None is accepted and then
  // dropped for want of an upstream socket.
  int echoed = 0;
  for (Socket& s : flood) {
    ReceiveResult r = recv_until_eof(s, Millis(20), 64);
    if (!r.data.empty()) ++echoed;
  }
  EXPECT_GT(echoed, 20);
  const std::string log = sluice().stderr_text();
  EXPECT_EQ(count_occurrences(log, "cannot create an upstream socket"), 0u) << log;

  // A client of the admin port waits in its backlog too: the control thread
  // must not spin on the listener it cannot accept from.
  Socket admin_client = connect_loopback(admin_port, Millis(2000));
  // While short, neither the worker nor the control thread spins: well under a
  // tenth of a core.
  const long before = cpu_ticks(sluice().pid());
  std::this_thread::sleep_for(Millis(1000));
  EXPECT_LT(cpu_ticks(sluice().pid()) - before, 10) << "ticks in 1 s while short";
  // The shortage is logged once, not per attempt.
  EXPECT_LE(count_occurrences(sluice().stderr_text(), "running short"), 1u)
      << sluice().stderr_text();

  flood.clear();
  std::this_thread::sleep_for(Millis(600));  // a tick or two: accepting resumes
  for (int i = 0; i < 10; ++i) {
    Socket s = connect();
    ASSERT_TRUE(s.valid());
    std::string payload = "after " + std::to_string(i), answer;
    PumpResult r = exchange(s, payload, &answer, Millis(5000));
    ASSERT_TRUE(r.ok) << "connection " << i << " after the flood: " << r.error << "\n"
                      << sluice().describe();
    EXPECT_EQ(answer, payload);
  }
  EXPECT_GE(count_occurrences(sluice().stderr_text(), "accepting again"), 1u);
}

}  // namespace
}  // namespace sluice::testing
