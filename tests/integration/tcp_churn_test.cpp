// Connection churn: many short connections, one after another per client. Catches leaks of
// sockets, ring entries or session objects that a few connections never show.
// Kept small enough (well under a minute) that the sanitizer run includes it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/sluice_fixture.hpp"
#include "tests/support/proc_stats.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class TcpChurnTest : public SluiceTest {};

TEST_F(TcpChurnTest, HundredThousandSequentialShortConnections) {
  const char* env = std::getenv("SLUICE_CHURN_CONNECTIONS");
  const int connections = env != nullptr ? std::atoi(env) : 100000;
  constexpr auto kBudget = std::chrono::seconds(55);
  Backend& echo = add_backend({.mode = "echo", .name = "echo"});
  ASSERT_TRUE(start_sluice({.endpoints = {echo.address()}}));
  std::this_thread::sleep_for(Millis(100));
  auto fds_before = open_fds(sluice().pid());
  ASSERT_TRUE(fds_before.has_value());

  // A few clients, each strictly sequential: one client alone measures the
  // scheduler's wake-up latency on a busy two-core box more than the proxy.
  constexpr int kClients = 4;
  std::atomic<int> next{0}, failures{0}, done{0};
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  auto start = Clock::now();
  auto client = [&] {
    for (int i = next++; i < connections; i = next++) {
      if (Clock::now() - start > kBudget) return;
      std::string error;
      Socket s = connect_loopback(port(), Millis(3000), &error);
      char payload[16];
      std::snprintf(payload, sizeof payload, "%09d\n", i);
      if (s.valid() && send_all(s, payload, Millis(3000)) && shutdown_write(s)) {
        ReceiveResult r = recv_until_eof(s, Millis(3000));
        if (r.end == StreamEnd::eof && r.data == payload) {
          ++done;
          continue;
        }
        error = std::string("ended with ") + to_string(r.end) + " after " +
                std::to_string(r.data.size()) + " bytes";
      }
      ++failures;
      std::lock_guard lock(errors_mutex);
      if (errors.size() < 5) errors.push_back("connection " + std::to_string(i) + ": " + error);
    }
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) clients.emplace_back(client);
  for (auto& t : clients) t.join();
  auto took = std::chrono::duration_cast<Millis>(Clock::now() - start);
  std::printf("%d connections in %lld ms (%.0f/s), %d failed\n", done.load(),
              static_cast<long long>(took.count()),
              done * 1000.0 / std::max<int64_t>(1, took.count()), failures.load());
  for (const auto& e : errors) ADD_FAILURE() << e;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(done.load(), connections) << "did not finish within " << kBudget.count() << " s";

  // Every connection is closed on both sides now: the proxy's descriptors must be back.
  size_t fds_after = 0;
  auto deadline = Clock::now() + std::chrono::seconds(3);
  do {
    fds_after = open_fds(sluice().pid()).value_or(0);
    if (fds_after <= *fds_before + 4) break;
    std::this_thread::sleep_for(Millis(50));
  } while (Clock::now() < deadline);
  EXPECT_LE(fds_after, *fds_before + 4)
      << "descriptors leaked: " << *fds_before << " before, " << fds_after << " after";
}

}  // namespace
}  // namespace sluice::testing
