// Rate-limit shapes end to end (issue #14): leaky-bucket shaping over real traffic through the
// real binary (queued requests leave at the rate, past the queue 429, a client that goes away
// frees its slot, metrics and access log say so), fixed windows, combined keys, several limits
// on one route, and RateLimit headers on admitted responses.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class ShapingTest : public PolicyTest {
 protected:
  // One worker, an admin listener, an access log, and an http listener whose routes are
  // `routes` (YAML lines under "routes:") to cluster c (backend b0); `limits` are the
  // "rate_limits:" entries.
  std::string yaml(uint16_t port, const std::string& routes, const std::string& limits) {
    admin_port_ = free_loopback_port();
    access_log_ = dir_.path() + "/access.log";
    return "workers: 1\n"
           "admin: { listen: 127.0.0.1:" +
           std::to_string(admin_port_) +
           " }\n"
           "log: { access: { path: " +
           access_log_ +
           ", format: json } }\n"
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port) +
           "\n"
           "    protocol: http\n"
           "    routes:\n" +
           routes +
           "clusters:\n"
           "  - name: c\n"
           "    endpoints:\n" +
           endpoints_yaml({backends_.at(0).address()}) + "rate_limits:\n" + limits;
  }

  // The value of one exact series (`name{labels}`) in GET /metrics; -1 when absent.
  double metric(const std::string& series) {
    Socket s = connect_loopback(admin_port_, Millis(5000));
    if (!s.valid()) return -1;
    if (!send_all(s, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                  Millis(5000)))
      return -1;
    const std::string text = recv_until_eof(s, Millis(5000)).data;
    const std::string prefix = "\n" + series + " ";
    const size_t at = text.find(prefix);
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + prefix.size()));
  }

  // Access log lines so far (the writer thread flushes within ~100 ms; waits for `at_least`).
  std::vector<std::string> access_lines(size_t at_least) {
    std::vector<std::string> lines;
    for (int i = 0; i < 50; ++i) {
      lines.clear();
      std::ifstream in(access_log_);
      for (std::string line; std::getline(in, line);) lines.push_back(line);
      if (lines.size() >= at_least) break;
      std::this_thread::sleep_for(Millis(100));
    }
    return lines;
  }

  // An access line's "time" (UTC, millisecond precision) as milliseconds since midnight.
  static double start_ms_of_day(const std::string& line) {
    const size_t t = line.find("\"time\":\"");
    if (t == std::string::npos) return -1;
    const size_t clock = line.find('T', t + 8);
    int h = 0, m = 0, sec = 0, ms = 0;
    if (std::sscanf(line.c_str() + clock + 1, "%d:%d:%d.%d", &h, &m, &sec, &ms) != 4) return -1;
    return ((h * 60.0 + m) * 60 + sec) * 1000 + ms;
  }
  // Its "rate_limit_delay_ms": 0 when it was not held.
  static double limit_delay_ms(const std::string& line) {
    const std::string key = "\"rate_limit_delay_ms\":";
    const size_t at = line.find(key);
    return at == std::string::npos ? 0 : std::atof(line.c_str() + at + key.size());
  }

  uint16_t admin_port_ = 0;
  std::string access_log_;
};

const std::string kOneRoute =
    "      - match: { path_prefix: / }\n"
    "        cluster: c\n"
    "        rate_limit: shape\n";

// Ten requests at once against 20/s with a queue of 5: one leaves at once, five wait for their
// slots 50 ms apart (in order), four are refused; nothing holds a thread meanwhile.
TEST_F(ShapingTest, LeakyBucketQueuesInOrderAtTheRateAndRefusesPastTheQueue) {
  add_http_backend("b0");
  const uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(yaml(port, kOneRoute,
                              "  - { name: shape, key: global, algorithm: leaky_bucket, "
                              "rate: 20/s, queue: 5 }\n")),
            0);
  constexpr int kClients = 10;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<HttpClient>(port));
  std::vector<HttpResponse> got(kClients);
  std::vector<Clock::duration> took(kClients);
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back([&, i] {
      got[i] = clients[i]->get("/", "", Millis(5000));
      took[i] = Clock::now() - t0;
    });
  for (auto& t : threads) t.join();
  std::vector<Clock::duration> served;
  int refused = 0;
  for (int i = 0; i < kClients; ++i) {
    if (got[i].status == 200) served.push_back(took[i]);
    if (got[i].status == 429) {
      ++refused;
      EXPECT_EQ(got[i].header("ratelimit-policy"), "\"shape\";q=20;w=1");
      EXPECT_LT(took[i], Millis(200)) << "a refusal is immediate, not queued";
    }
  }
  ASSERT_EQ(served.size(), 6u) << "1 at once + queue 5";
  EXPECT_EQ(refused, 4);
  std::sort(served.begin(), served.end());
  EXPECT_LT(served.back(), Millis(1500));
  EXPECT_EQ(metric("sluice_rate_limit_queued_total{policy=\"shape\"}"), 5);
  EXPECT_EQ(metric("sluice_rate_limit_queue_depth{policy=\"shape\"}"), 0);
  EXPECT_EQ(metric("sluice_rate_limit_queue_delay_seconds_count{policy=\"shape\"}"), 5);
  int queued_lines = 0, limited_lines = 0;
  // When each admitted request left, by sluice's own schedule (arrival + the delay it was given):
  // the client's clock would add its threads' scheduling to the first and make the span short.
  std::vector<double> left_ms;
  for (const std::string& line : access_lines(kClients)) {
    if (line.find("\"status\":200") != std::string::npos)
      left_ms.push_back(start_ms_of_day(line) + limit_delay_ms(line));
    if (line.find("\"rate_limit\":\"queued\",\"rate_limit_name\":\"shape\"") != std::string::npos)
      ++queued_lines;
    if (line.find("\"rate_limit\":\"limited\",\"rate_limit_name\":\"shape\"") != std::string::npos)
      ++limited_lines;
  }
  EXPECT_EQ(queued_lines, 5);
  EXPECT_EQ(limited_lines, 4);
  // The last of the queue left 5 slots (250 ms) after the first, neither sooner nor later. The
  // margin: start times are whole milliseconds, and a delay counts from the decision, a little
  // after the start (more under sanitizers).
  ASSERT_EQ(left_ms.size(), 6u);
  std::sort(left_ms.begin(), left_ms.end());
  std::printf("[ info     ] by sluice's schedule the six left over %.1f ms\n",
              left_ms.back() - left_ms.front());
  EXPECT_GE(left_ms.back() - left_ms.front(), 240);
  EXPECT_LE(left_ms.back() - left_ms.front(), 260);
}

// Four times the rate offered by closed-loop clients for 3 s: requests leave at the configured
// rate (within 3% over real sockets on a shared box) and the queue never exceeds its bound.
TEST_F(ShapingTest, LeakyBucketHoldsTheRateUnderFourTimesOverload) {
  add_http_backend("b0");
  const uint16_t port = free_loopback_port();
  constexpr int kRate = 50;
  constexpr int kQueue = 10;
  ASSERT_GE(start_sluice(yaml(port, kOneRoute,
                              "  - { name: shape, key: global, algorithm: leaky_bucket, "
                              "rate: 50/s, queue: 10 }\n")),
            0);
  // Each client sends a request every 20 ms (open loop, timeouts short), 4 clients: 200/s.
  constexpr int kClients = 4;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::seconds(3);
  std::mutex mutex;
  std::vector<Clock::time_point> served_at;
  std::atomic<int> refused{0};
  std::atomic<double> max_depth{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c)
    threads.emplace_back([&] {
      std::vector<std::unique_ptr<HttpClient>> pool;  // one connection per request in flight
      std::vector<std::thread> inflight;
      auto next = Clock::now();
      while (next < end) {
        std::this_thread::sleep_until(next);
        next += Millis(20);
        inflight.emplace_back([&] {
          HttpClient client(port);
          HttpResponse r = client.get("/", "", Millis(3000));
          if (r.status == 200) {
            std::lock_guard lock(mutex);
            served_at.push_back(Clock::now());
          } else if (r.status == 429) {
            ++refused;
          }
        });
      }
      for (auto& t : inflight) t.join();
    });
  std::thread watcher([&] {
    while (Clock::now() < end) {
      const double depth = metric("sluice_rate_limit_queue_depth{policy=\"shape\"}");
      if (depth > max_depth.load()) max_depth = depth;
      std::this_thread::sleep_for(Millis(50));
    }
  });
  for (auto& t : threads) t.join();
  watcher.join();
  std::sort(served_at.begin(), served_at.end());
  ASSERT_GT(served_at.size(), 100u);
  // The rate between the first and the last departure: (n - 1) intervals.
  const double seconds =
      std::chrono::duration<double>(served_at.back() - served_at.front()).count();
  const double rate = static_cast<double>(served_at.size() - 1) / seconds;
  EXPECT_NEAR(rate, kRate, kRate * 0.03) << served_at.size() << " in " << seconds << " s";
  std::printf(
      "[ info     ] %zu left in %.3f s: %.2f/s (configured %d/s); %d refused; queue depth "
      "seen <= %.0f (bound %d)\n",
      served_at.size(), seconds, rate, kRate, refused.load(), max_depth.load(), kQueue);
  EXPECT_GT(refused.load(), 300);  // ~3/4 of ~600 offered
  // The bucket's schedule never holds more than kQueue (LeakyBucket unit tests pin that on a fake
  // clock; LeakyBucketQueuesInOrderAtTheRateAndRefusesPastTheQueue end to end). The gauge counts
  // parked requests until their worker's alarm releases them, which runs a little after their
  // slot came: an arrival in between takes the slot that departure freed while the departing
  // request is still counted. So one more than the bound can show; two would be a stall of a
  // whole emission (20 ms) with an arrival inside it.
  EXPECT_LE(max_depth.load(), kQueue + 1);
  EXPECT_GE(max_depth.load(), kQueue - 2);  // overload does fill it
}

// A request sent on a connection kept open without reading the answer: it waits in the queue.
Socket send_request(uint16_t port) {
  Socket s = connect_loopback(port, Millis(5000));
  EXPECT_TRUE(s.valid());
  EXPECT_TRUE(send_all(s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", Millis(5000)));
  return s;
}

// A client that goes away while its request waits frees the slot: the next request is queued
// instead of refused, and the abandoned one never reaches the backend.
TEST_F(ShapingTest, ClientGoneWhileQueuedFreesItsSlot) {
  add_http_backend("b0");
  const uint16_t port = free_loopback_port();
  // One request a minute: whatever waits, waits for the whole test.
  ASSERT_GE(start_sluice(yaml(port, kOneRoute,
                              "  - { name: shape, key: global, algorithm: leaky_bucket, "
                              "rate: 1/min, queue: 1 }\n")),
            0);
  const std::string depth = "sluice_rate_limit_queue_depth{policy=\"shape\"}";
  const std::string abandoned = "sluice_rate_limit_queue_abandoned_total{policy=\"shape\"}";
  auto wait_for = [&](const std::string& series, double value) {
    for (int i = 0; i < 100 && metric(series) != value; ++i)
      std::this_thread::sleep_for(Millis(20));
    return metric(series);
  };
  HttpClient first(port);
  EXPECT_EQ(first.get("/").status, 200);
  {
    Socket waiting = send_request(port);
    EXPECT_EQ(wait_for(depth, 1), 1);
    HttpClient refused(port);
    EXPECT_EQ(refused.get("/").status, 429);
  }  // `waiting` closes its connection
  EXPECT_EQ(wait_for(abandoned, 1), 1);
  EXPECT_EQ(metric(depth), 0);
  Socket next = send_request(port);
  EXPECT_EQ(wait_for(depth, 1), 1);  // queued again, not refused
  HttpClient after(port);
  EXPECT_EQ(after.get("/").status, 429);
  EXPECT_EQ(metric("sluice_upstream_responses_total{cluster=\"c\",code_class=\"2xx\"}"), 1);
  // The access log has the abandoned one, with the wait it had been given (just under 60 s).
  bool logged = false;
  for (const std::string& line : access_lines(4))
    logged |= line.find(
                  "\"rate_limit\":\"queued\",\"rate_limit_name\":\"shape\","
                  "\"rate_limit_delay_ms\":59") != std::string::npos &&
              line.find("abandoned-in-queue") != std::string::npos;
  EXPECT_TRUE(logged);
}

}  // namespace
}  // namespace sluice::testing
