// An endpoint killed under load (issue #13): with retries, idempotent requests
// on keep-alive connections must not fail when an endpoint dies mid-stream,
// whether they were in flight on its pooled connections, about to reuse one,
// or about to open a new one (refused, then backed off).
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

class ChaosTest : public PolicyTest {};

TEST_F(ChaosTest, KillNineOfAnEndpointUnderKeepAliveLoadFailsNoIdempotentRequest) {
  Backend& b0 = add_http_backend("b0");
  Backend& b1 = add_http_backend("b1");
  Backend& b2 = add_http_backend("b2");
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice("workers: 2\n"
                         "listeners:\n"
                         "  - name: web\n"
                         "    listen: 127.0.0.1:" +
                         std::to_string(port) +
                         "\n"
                         "    protocol: http\n"
                         "    retries: { attempts: 2 }\n"
                         "    routes:\n"
                         "      - { match: { path_prefix: / }, cluster: c }\n"
                         "clusters:\n"
                         "  - name: c\n"
                         "    endpoints:\n" +
                         endpoints_yaml({b0.address(), b1.address(), b2.address()})),
            0);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> ok_after_kill{0};
  std::atomic<bool> killed{false};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      HttpClient client(port);  // keep-alive: one connection while it lasts
      while (!stop.load()) {
        HttpResponse r = client.get("/", "", Millis(5000));
        if (r.status == 200) {
          ++ok;
          if (killed.load()) ++ok_after_kill;
          continue;
        }
        std::lock_guard lock(failures_mutex);
        failures.push_back(std::to_string(r.status) + " " + r.header("x-sluice-error") + " " +
                           r.error);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(::kill(b1.process.pid(), SIGKILL), 0);  // no FIN, no goodbye
  killed = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  for (std::thread& t : clients) t.join();

  EXPECT_TRUE(failures.empty()) << failures.size()
                                << " failed, first: " << (failures.empty() ? "" : failures.front());
  EXPECT_GT(ok_after_kill.load(), 200) << "the load did go on after the kill";
  EXPECT_GT(ok.load(), 400);
}

}  // namespace
}  // namespace sluice::testing
