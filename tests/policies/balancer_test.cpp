// Balancers end to end: sluice with `workers: 1` (one cursor, so exact orders)
// in front of http-mode test backends, which name themselves in every answer.
// HTTP requests are counted by that name (upstream connections are pooled, so
// backend connection counts would not say where requests went); TCP connections
// carry one HTTP request each to the same backends.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class BalancerTest : public PolicyTest {
 protected:
  // Starts http backends named b0..b{n-1}; returns their addresses.
  std::vector<std::string> start_backends(int n) {
    std::vector<std::string> addresses;
    for (int i = 0; i < n; ++i)
      addresses.push_back(add_http_backend("b" + std::to_string(i)).address());
    return addresses;
  }

  // One http listener routing everything to cluster `c`.
  std::string http_yaml(uint16_t port, const std::string& balancer,
                        const std::vector<std::string>& endpoints,
                        const std::vector<int>& weights = {}, const std::string& route_extra = "") {
    return "workers: 1\n"
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port) +
           "\n"
           "    protocol: http\n"
           "    routes:\n"
           "      - match: { path_prefix: / }\n"
           "        cluster: c\n" +
           route_extra +
           "clusters:\n"
           "  - name: c\n"
           "    balancer: " +
           balancer +
           "\n"
           "    endpoints:\n" +
           endpoints_yaml(endpoints, weights);
  }

  std::string tcp_yaml(uint16_t port, const std::string& balancer,
                       const std::vector<std::string>& endpoints,
                       const std::vector<int>& weights = {}, const std::string& extra = "") {
    return "workers: 1\n"
           "listeners:\n"
           "  - name: tcp\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port) +
           "\n"
           "    protocol: tcp\n"
           "    cluster: c\n"
           "    timeouts: { connect: 500ms, idle: 10s }\n" +
           extra +
           "clusters:\n"
           "  - name: c\n"
           "    balancer: " +
           balancer +
           "\n"
           "    endpoints:\n" +
           endpoints_yaml(endpoints, weights);
  }

  // `n` sequential requests on one keep-alive connection; the backend names in order.
  std::vector<std::string> http_sequence(uint16_t port, int n, const std::string& target = "/") {
    HttpClient client(port);
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
      HttpResponse r = client.get(target);
      EXPECT_EQ(r.status, 200) << "request " << i << ": " << r.error;
      names.push_back(r.backend());
    }
    EXPECT_EQ(client.connects(), 1) << "the keep-alive connection was not kept";
    return names;
  }

  std::vector<std::string> tcp_sequence(uint16_t port, int n) {
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) names.push_back(tcp_fetch_backend(port));
    return names;
  }
};

std::vector<std::string> repeat(const std::vector<std::string>& period, int times) {
  std::vector<std::string> out;
  for (int i = 0; i < times; ++i) out.insert(out.end(), period.begin(), period.end());
  return out;
}

std::map<std::string, int> tally(const std::vector<std::string>& names) {
  std::map<std::string, int> counts;
  for (const auto& n : names) ++counts[n];
  return counts;
}

// ---------------------------------------------------------------- round robin

TEST_F(BalancerTest, RoundRobinHttpRequestsGoInOrder) {
  auto eps = start_backends(3);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(port, "{ type: round_robin }", eps)), 0);
  // Per request, not per connection: one keep-alive connection visits all three.
  EXPECT_EQ(http_sequence(port, 30), repeat({"b0", "b1", "b2"}, 10));
}

TEST_F(BalancerTest, RoundRobinTcpConnectionsGoInOrder) {
  auto eps = start_backends(3);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(tcp_yaml(port, "{ type: round_robin }", eps)), 0);
  EXPECT_EQ(tcp_sequence(port, 30), repeat({"b0", "b1", "b2"}, 10));
  // And the backends saw exactly one connection per proxied connection.
  for (auto& b : backends_) EXPECT_EQ(b.connections(), 10u) << b.address();
}

// ---------------------------------------------------------------- weighted

// nginx's smooth weighted round robin for weights 5,1,1 is a a b a c a a.
const std::vector<std::string> kSmooth511 = {"b0", "b0", "b1", "b0", "b2", "b0", "b0"};

TEST_F(BalancerTest, WeightedRoundRobinHttpFollowsSmoothSequence) {
  auto eps = start_backends(3);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(port, "{ type: weighted_round_robin }", eps, {5, 1, 1})), 0);
  auto names = http_sequence(port, 70);
  EXPECT_EQ(names, repeat(kSmooth511, 10));
  EXPECT_EQ(tally(names), (std::map<std::string, int>{{"b0", 50}, {"b1", 10}, {"b2", 10}}));
}

TEST_F(BalancerTest, WeightedRoundRobinTcpFollowsSmoothSequence) {
  auto eps = start_backends(3);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(tcp_yaml(port, "{ type: weighted_round_robin }", eps, {5, 1, 1})), 0);
  EXPECT_EQ(tcp_sequence(port, 70), repeat(kSmooth511, 10));
  EXPECT_EQ(backends_[0].connections(), 50u);
  EXPECT_EQ(backends_[1].connections(), 10u);
  EXPECT_EQ(backends_[2].connections(), 10u);
}

// ---------------------------------------------------------------- least conn

TEST_F(BalancerTest, LeastConnHttpSkipsBackendHoldingALongRequest) {
  auto eps = start_backends(3);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(port, "{ type: least_conn }", eps)), 0);

  // One slow request in flight...
  HttpResponse slow;
  std::thread holder([&] { slow = HttpClient(port).get("/sleep?ms=1500"); });
  // ...has reached its backend once that backend counts a connection.
  int busy = -1;
  for (auto deadline = Clock::now() + std::chrono::seconds(5);
       busy < 0 && Clock::now() < deadline;) {
    for (size_t i = 0; i < backends_.size(); ++i)
      if (backends_[i].connections() > 0) busy = static_cast<int>(i);
    std::this_thread::sleep_for(Millis(5));
  }
  ASSERT_GE(busy, 0) << "the slow request never reached a backend";
  const std::string busy_name = "b" + std::to_string(busy);

  // Quick requests meanwhile: never the busy backend, and both idle ones.
  Clock::time_point started = Clock::now();
  auto quick = tally(http_sequence(port, 20));
  const bool still_busy = Clock::now() - started < Millis(1300);
  holder.join();
  EXPECT_EQ(slow.backend(), busy_name) << slow.error;
  ASSERT_TRUE(still_busy) << "machine too slow: the quick requests outlasted the slow one";
  EXPECT_EQ(quick.count(busy_name), 0u) << "least_conn sent a request to the busy backend";
  EXPECT_EQ(quick.size(), 2u);
  int total = 0;
  for (auto& [name, n] : quick) total += n;
  EXPECT_EQ(total, 20);

  // Once it is done, it is a candidate again: three requests with equal loads
  // visit all three (ties rotate with the cursor).
  auto after = tally(http_sequence(port, 3));
  EXPECT_EQ(after, (std::map<std::string, int>{{"b0", 1}, {"b1", 1}, {"b2", 1}}));
}

TEST_F(BalancerTest, LeastConnTcpSendsNewConnectionsToTheIdleBackend) {
  auto eps = start_backends(3);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(tcp_yaml(port, "{ type: least_conn }", eps)), 0);

  // Two idle long-lived connections (the backend waits for a request that
  // never comes): the first lands on b0, the second on the least loaded b1.
  std::vector<Socket> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(connect_from("127.0.0.1", port, Millis(5000)));
    ASSERT_TRUE(held.back().valid());
  }
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (backends_[0].connections() + backends_[1].connections() + backends_[2].connections() < 2 &&
         Clock::now() < deadline)
    std::this_thread::sleep_for(Millis(5));
  EXPECT_EQ(backends_[0].connections(), 1u);
  EXPECT_EQ(backends_[1].connections(), 1u);

  // Every short connection now goes to b2. The pause lets sluice retire the
  // previous short connection (its close trails the answer we read).
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) {
    names.push_back(tcp_fetch_backend(port));
    std::this_thread::sleep_for(Millis(50));
  }
  EXPECT_EQ(names, std::vector<std::string>(10, "b2"));
  EXPECT_EQ(backends_[2].connections(), 10u);
}

// ---------------------------------------------------------------- consistent hash

struct HashKeyCase {
  const char* name;
  const char* key;  // balancer key
  // The request for user `u`, variant `v`: variants change everything but the key.
  std::function<std::pair<std::string, std::string>(int u, int v)> request;
};

class ConsistentHashKeyTest : public BalancerTest,
                              public ::testing::WithParamInterface<HashKeyCase> {};

TEST_P(ConsistentHashKeyTest, EachKeyStaysOnOneBackendAndKeysSpread) {
  const HashKeyCase& c = GetParam();
  auto eps = start_backends(3);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(
                port, std::string("{ type: consistent_hash, key: \"") + c.key + "\" }", eps)),
            0);
  constexpr int kUsers = 50;
  constexpr int kRounds = 4;  // 200 requests, users interleaved
  std::map<int, std::set<std::string>> seen;
  HttpClient client(port);
  for (int round = 0; round < kRounds; ++round) {
    for (int u = 0; u < kUsers; ++u) {
      auto [target, headers] = c.request(u, round);
      HttpResponse r = client.get(target, headers);
      ASSERT_EQ(r.status, 200) << target << " " << r.error;
      seen[u].insert(r.backend());
    }
  }
  std::map<std::string, int> users_per_backend;
  for (auto& [u, names] : seen) {
    EXPECT_EQ(names.size(), 1u) << "user " << u << " reached " << names.size() << " backends";
    ++users_per_backend[*names.begin()];
  }
  // 50 keys over three equal endpoints (160 points each): every one gets a fair share.
  ASSERT_EQ(users_per_backend.size(), 3u);
  for (auto& [name, n] : users_per_backend) EXPECT_GE(n, 6) << name;

  // Requests without the key all hash as the empty string: they stick together.
  std::set<std::string> keyless;
  for (int i = 0; i < 12; ++i) keyless.insert(client.get("/nokey/" + std::to_string(i)).backend());
  if (std::string(c.key) != "path") {
    EXPECT_EQ(keyless.size(), 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Keys, ConsistentHashKeyTest,
    ::testing::Values(HashKeyCase{"Header", "header:X-User",
                                  [](int u, int v) {
                                    return std::make_pair(
                                        "/p" + std::to_string(v),
                                        "X-User: user-" + std::to_string(u) + "\r\n");
                                  }},
                      HashKeyCase{"Cookie", "cookie:session",
                                  [](int u, int v) {
                                    return std::make_pair("/p" + std::to_string(v),
                                                          "Cookie: theme=t" + std::to_string(v) +
                                                              "; session=s" + std::to_string(u) +
                                                              "\r\n");
                                  }},
                      HashKeyCase{"Path", "path",
                                  [](int u, int v) {
                                    return std::make_pair(
                                        "/item/" + std::to_string(u) + "?v=" + std::to_string(v),
                                        "X-User: v" + std::to_string(v) + "\r\n");
                                  }},
                      HashKeyCase{"Query", "query:u",
                                  [](int u, int v) {
                                    return std::make_pair("/q" + std::to_string(v) +
                                                              "?a=" + std::to_string(v) +
                                                              "&u=" + std::to_string(u),
                                                          std::string());
                                  }}),
    [](const ::testing::TestParamInfo<HashKeyCase>& info) { return std::string(info.param.name); });

TEST_F(BalancerTest, ConsistentHashTcpKeepsEachClientIpOnOneBackend) {
  auto eps = start_backends(3);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(tcp_yaml(port, "{ type: consistent_hash }", eps)), 0);
  constexpr int kSources = 30;
  std::map<std::string, std::set<std::string>> seen;
  for (int round = 0; round < 3; ++round) {
    for (int s = 0; s < kSources; ++s) {
      std::string ip = "127.0.0." + std::to_string(2 + s);
      std::string name = tcp_fetch_backend(port, ip);
      ASSERT_FALSE(name.empty()) << "no answer for a connection from " << ip;
      seen[ip].insert(name);
    }
  }
  std::map<std::string, int> per_backend;
  for (auto& [ip, names] : seen) {
    EXPECT_EQ(names.size(), 1u) << ip << " reached " << names.size() << " backends";
    ++per_backend[*names.begin()];
  }
  ASSERT_EQ(per_backend.size(), 3u);
  for (auto& [name, n] : per_backend) EXPECT_GE(n, 3) << name;
}

// Maps 50 X-User keys through a fresh sluice over `endpoints`.
class ConsistentHashRemovalTest : public BalancerTest,
                                  public ::testing::WithParamInterface<const char*> {
 protected:
  std::map<int, std::string> map_keys(const std::vector<std::string>& endpoints) {
    uint16_t port = free_loopback_port();
    int index = start_sluice(
        http_yaml(port,
                  std::string("{ type: consistent_hash, key: \"header:X-User\", algorithm: ") +
                      GetParam() + " }",
                  endpoints));
    std::map<int, std::string> where;
    if (index < 0) return where;
    HttpClient client(port);
    for (int u = 0; u < 50; ++u) {
      HttpResponse r = client.get("/", "X-User: user-" + std::to_string(u) + "\r\n");
      EXPECT_EQ(r.status, 200) << r.error;
      where[u] = r.backend();
    }
    stop_sluice(index);
    return where;
  }
};

TEST_P(ConsistentHashRemovalTest, RemovingABackendMovesOnlyItsKeys) {
  auto eps = start_backends(3);
  auto before = map_keys(eps);
  ASSERT_EQ(before.size(), 50u);
  // Drop the middle endpoint: placement must follow endpoint identity, not position.
  auto after = map_keys({eps[0], eps[2]});
  ASSERT_EQ(after.size(), 50u);
  int moved_from_b1 = 0;
  int moved_others = 0;
  for (int u = 0; u < 50; ++u) {
    if (before[u] == "b1") {
      ++moved_from_b1;
      EXPECT_NE(after[u], "b1");
    } else if (after[u] != before[u]) {
      ++moved_others;
      std::printf("user-%d moved from %s to %s though its backend stayed\n", u, before[u].c_str(),
                  after[u].c_str());
    }
  }
  EXPECT_GT(moved_from_b1, 5);
  // A ring moves only the removed endpoint's keys. Maglev rebuilds its lookup
  // table and may move a few others (its paper: near-minimal disruption);
  // which ones depends on the endpoints' names, here random ports.
  EXPECT_LE(moved_others, std::string(GetParam()) == "maglev" ? 2 : 0);
  // And putting it back restores the original placement exactly.
  EXPECT_EQ(map_keys(eps), before);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, ConsistentHashRemovalTest, ::testing::Values("ring", "maglev"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

// ---------------------------------------------------------------- p2c

// One backend is stopped (SIGSTOP: the kernel still accepts its connections,
// nothing answers), so every request sent there stays in flight until the
// 1 s request timeout. Concurrent clients keep the other two busy; p2c must
// see the pile-up and send the stalled backend only a handful of requests,
// where round robin would send it a third of the picks.
class P2cStallTest : public BalancerTest, public ::testing::WithParamInterface<const char*> {
 protected:
  // Requests per outcome: "b0", "b1" (answered), "stalled" (504 from the stopped b2).
  std::map<std::string, int> run_against_stalled_backend();
};

std::map<std::string, int> P2cStallTest::run_against_stalled_backend() {
  auto eps = start_backends(3);
  uint16_t port = free_loopback_port();
  std::map<std::string, int> total;
  if (start_sluice(http_yaml(port, std::string("{ type: p2c, load: ") + GetParam() + " }", eps, {},
                             "        timeouts: { request: 1s }\n"
                             "        retries: { attempts: 0 }\n")) < 0)
    return total;
  EXPECT_EQ(::kill(backends_[2].process.pid(), SIGSTOP), 0);
  constexpr int kThreads = 6;
  std::vector<std::map<std::string, int>> counts(kThreads);
  std::vector<std::thread> threads;
  auto stop_at = Clock::now() + std::chrono::milliseconds(2500);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client(port);
      // Paced (500 requests/s per client) so the two cores are not all ours.
      auto next = Clock::now();
      while (Clock::now() < stop_at) {
        std::this_thread::sleep_until(next);
        next += std::chrono::milliseconds(2);
        HttpResponse r = client.get("/", "", Millis(3000));
        if (r.status == 504 && r.header("x-sluice-error") == "upstream-timeout")
          ++counts[t]["stalled"];
        else
          ++counts[t][r.ok() ? r.backend() : "error: " + r.error];
      }
    });
  }
  for (auto& th : threads) th.join();
  ::kill(backends_[2].process.pid(), SIGCONT);
  for (auto& c : counts)
    for (auto& [k, v] : c) total[k] += v;
  for (auto& [k, v] : total) std::printf("  %s: %d\n", k.c_str(), v);
  return total;
}

TEST_P(P2cStallTest, StarvesAStalledBackend) {
  auto total = run_against_stalled_backend();
  const int fast = total["b0"] + total["b1"];
  EXPECT_EQ(total.size(), 3u) << "unexpected outcomes";
  // Each fast backend took a fair part of the rest...
  EXPECT_GT(total["b0"], fast / 4);
  EXPECT_GT(total["b1"], fast / 4);
  // ...and the stalled one only what p2c had to probe: each stalled request
  // holds a thread for 1 s, so at most ~2.5 s × 6 threads of them were possible.
  EXPECT_GE(total["stalled"], 1);
  EXPECT_LE(total["stalled"] * 50, fast) << "p2c kept choosing the stalled backend";
}

// Regression (ewma_latency): an endpoint that never answers never gets a
// latency sample; P2c::better used to cost an unsampled endpoint 0 whatever its
// in-flight count, so a stalled endpoint won every draw. It now compares
// in-flight counts whenever either side has no sample.
INSTANTIATE_TEST_SUITE_P(Load, P2cStallTest, ::testing::Values("in_flight", "ewma_latency"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

// ---------------------------------------------------------------- retries

TEST_F(BalancerTest, HttpRetriesSkipADownEndpoint) {
  auto eps = start_backends(2);
  uint16_t down_port = 0;
  Socket down = reserve_refusing_port(&down_port);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(port, "{ type: round_robin }",
                                   {eps[0], loopback_address(down_port), eps[1]}, {},
                                   "        retries: { attempts: 2 }\n")),
            0);
  auto names = tally(http_sequence(port, 30));
  EXPECT_EQ(names["b0"] + names["b1"], 30);
  EXPECT_GE(names["b0"], 10);
  EXPECT_GE(names["b1"], 10);
}

// The control for the test above: without retries the down endpoint fails the
// request that finds it down with a 502, answered at once. Regression: the 502
// (or 504) queued when the last connect attempt failed used to wait for the
// request timeout, because the failure arrives in the upstream's callback and
// nothing pumped the session. After that failure the endpoint backs off (1 s,
// like nginx's max_fails=1): it does not fail its share of what follows.
TEST_F(BalancerTest, HttpWithoutRetriesTheDownEndpointFailsOnceThenBacksOff) {
  auto eps = start_backends(2);
  uint16_t down_port = 0;
  Socket down = reserve_refusing_port(&down_port);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(port, "{ type: round_robin }",
                                   {eps[0], loopback_address(down_port), eps[1]}, {},
                                   "        retries: { attempts: 0 }\n")),
            0);
  HttpClient client(port);
  std::map<std::string, int> outcomes;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) {
    // A refused connect is answered at once; 2 s is plenty.
    HttpResponse r = client.get("/", "", Millis(2000));
    outcomes[r.status == 200 ? r.backend()
                             : std::to_string(r.status) + " " + r.header("x-sluice-error")] += 1;
  }
  // Within the back-off (these 30 requests take far less than 1 s), the down
  // endpoint failed exactly one request; round robin shares the rest.
  ASSERT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  EXPECT_EQ(outcomes["502 connect-failed"], 1);
  EXPECT_EQ(outcomes["b0"] + outcomes["b1"], 29);
  EXPECT_LE(std::abs(outcomes["b0"] - outcomes["b1"]), 1);
}

// Same regression, other branch: retries left but every endpoint already tried.
TEST_F(BalancerTest, HttpAllEndpointsDownAnswersPromptly) {
  uint16_t down_port = 0;
  Socket down = reserve_refusing_port(&down_port);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(http_yaml(port, "{ type: round_robin }", {loopback_address(down_port)}, {},
                                   "        retries: { attempts: 2 }\n")),
            0);
  HttpResponse r = HttpClient(port).get("/", "", Millis(2000));
  EXPECT_EQ(r.status, 502) << r.error;  // a connect failure, as without retries
  EXPECT_EQ(r.header("x-sluice-error"), "connect-failed");
}

TEST_F(BalancerTest, TcpRetriesSkipADownEndpoint) {
  auto eps = start_backends(2);
  uint16_t down_port = 0;
  Socket down = reserve_refusing_port(&down_port);
  uint16_t port = free_loopback_port();
  ASSERT_GE(start_sluice(tcp_yaml(port, "{ type: round_robin }",
                                  {eps[0], loopback_address(down_port), eps[1]}, {},
                                  "    retries: { attempts: 2 }\n")),
            0);
  auto names = tally(tcp_sequence(port, 30));
  EXPECT_EQ(names["b0"] + names["b1"], 30) << "some connections were not answered";
  EXPECT_EQ(backends_[0].connections() + backends_[1].connections(), 30u);
}

}  // namespace
}  // namespace sluice::testing
