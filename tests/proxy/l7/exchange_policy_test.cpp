// The traffic policies on one Exchange, against endpoints the test plays: a sticky cookie
// picks its endpoint and is set again when that one cannot serve, a fallback answers when the
// breaker is open or no endpoint is routable (a static response or another cluster), the retry
// budget refuses a retry, a retry backs off, and the deadline header goes upstream.
#include <gtest/gtest.h>

#include <chrono>

#include "proxy/upstream/sticky_table.hpp"
#include "tests/proxy/l7/exchange_harness.hpp"

namespace sluice::proxy::test {
namespace {

constexpr const char* kConfig = R"(listeners:
  - name: web
    listen: 127.0.0.1:1
    protocol: http
    routes:
      - name: static
        match: { path_prefix: /static }
        cluster: two
        retries: { attempts: 1, on: [connect-failure, 503], backoff: { base: 200ms, max: 200ms } }
        fallback:
          on: [circuit-open, no-endpoint]
          response:
            status: 503
            headers: { Content-Type: text/html, Retry-After: "5" }
            body: "<p>back soon</p>"
      - name: spare
        match: { path_prefix: /spare }
        cluster: two
        fallback: { cluster: one }
      - name: deadline
        match: { path_prefix: /deadline }
        cluster: two
        timeouts: { request: 2s }
        deadline: { header: X-Deadline-Ms, trust_incoming: true }
      - name: api
        match: { path_prefix: / }
        cluster: two
        retries: { attempts: 1, on: [connect-failure, 503] }
clusters:
  - name: two
    endpoints: [{ address: "{E0}" }, { address: "{E1}" }]
    pool: { max_idle: 0 }
    circuit_breaker: { consecutive_failures: 1 }
    outlier_detection: { consecutive_5xx: 100, max_ejected_percent: 100 }
    sticky_cookie: { name: SRV, secret: k }
    retry_budget: { ratio: 0.5, min_concurrency: 0 }
  - name: one
    endpoints: [{ address: "{E1}" }]
    pool: { max_idle: 0 }
)";

class ExchangePolicyTest : public ExchangeHarness {
 protected:
  void SetUp() override { build(kConfig); }

  void start(const std::string& head) {
    sink_->events.clear();
    sink_->extra_headers.clear();
    exchange_->begin(*this, http(), "10.0.0.7", "");
    exchange_->on_request_head(request(head));
    exchange_->flush();
  }
  FakeEndpoint* accept_next() {
    for (int round = 0; round < 400; ++round) {
      for (FakeEndpoint& e : endpoints_)
        if (e.accept(loop_, 0)) return &e;
      loop_.run_once(5);
    }
    return nullptr;
  }
  uint32_t position(const FakeEndpoint* e) const { return e == &endpoints_[0] ? 0 : 1; }
  const ClusterRuntime& cluster() const { return snapshot_->clusters[0]; }
  std::string cookie(uint32_t position) const {
    return sticky_value("k", "two", cluster().endpoints[position].address.text);
  }
  // Answers the request `e` got with `status`, and lets the exchange finish.
  void answer(FakeEndpoint* e, int status = 200) {
    e->read_until(loop_, "\r\n\r\n");
    e->write("HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n");
    ASSERT_TRUE(run_until([&] { return saw("end"); }));
    exchange_->end(0, 0);
  }
  void open_breaker() {
    limiter::CircuitBreaker& b = *cluster().breaker;
    const int64_t now = clock::monotonic_ns();
    b.on_failure(now, b.allow(now));
  }
};

TEST_F(ExchangePolicyTest, TheFirstResponseSetsACookieNamingItsEndpoint) {
  start("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  FakeEndpoint* e = accept_next();
  ASSERT_NE(e, nullptr);
  answer(e);
  EXPECT_EQ(sink_->extra_headers,
            "Set-Cookie: SRV=" + cookie(position(e)) + "; Path=/; HttpOnly\r\n");
}

TEST_F(ExchangePolicyTest, ACookieKeepsEveryRequestOnItsEndpointAndIsNotSetAgain) {
  for (uint32_t target : {1u, 0u}) {
    for (int i = 0; i < 4; ++i) {  // round robin alone would alternate
      start("GET / HTTP/1.1\r\nHost: a\r\nCookie: a=b; SRV=" + cookie(target) + "\r\n\r\n");
      FakeEndpoint* e = accept_next();
      ASSERT_NE(e, nullptr);
      EXPECT_EQ(position(e), target) << i;
      answer(e);
      EXPECT_EQ(sink_->extra_headers, "");
    }
  }
}

TEST_F(ExchangePolicyTest, ACookieWhoseEndpointIsEjectedMovesAndIsSetAgain) {
  // consecutive_5xx is 100: the detector's own threshold ejects it.
  for (int i = 0; i < 100; ++i) cluster().outliers->on_5xx(1, clock::monotonic_ns());
  ASSERT_TRUE(cluster().outliers->is_ejected(1, clock::monotonic_ns()));
  start("GET / HTTP/1.1\r\nHost: a\r\nCookie: SRV=" + cookie(1) + "\r\n\r\n");
  FakeEndpoint* e = accept_next();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(position(e), 0u);
  answer(e);
  EXPECT_EQ(sink_->extra_headers, "Set-Cookie: SRV=" + cookie(0) + "; Path=/; HttpOnly\r\n");
}

TEST_F(ExchangePolicyTest, AnOpenBreakerIsAnsweredByTheStaticFallback) {
  open_breaker();
  start("GET /static/x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"local 503 circuit-open keep-alive"}));
  EXPECT_EQ(sink_->body, "<p>back soon</p>");
  EXPECT_EQ(sink_->extra_headers, "Content-Type: text/html\r\nRetry-After: 5\r\n");
  const metrics::RouteCounters& route = http().routes[0].stats->per_worker.at(0);
  EXPECT_EQ(route.fallbacks[0].value(), 1u);  // circuit-open
  EXPECT_EQ(route.fallbacks[1].value(), 0u);
}

TEST_F(ExchangePolicyTest, NoRoutableEndpointIsAnsweredByTheStaticFallback) {
  for (uint32_t i : {0u, 1u})
    for (int n = 0; n < 100; ++n) cluster().outliers->on_5xx(i, clock::monotonic_ns());
  start("GET /static/x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"local 503 no-endpoint close"}));
  EXPECT_EQ(sink_->body, "<p>back soon</p>");
  EXPECT_EQ(http().routes[0].stats->per_worker.at(0).fallbacks[1].value(), 1u);
}

TEST_F(ExchangePolicyTest, AReasonTheFallbackDoesNotCoverKeepsItsError) {
  // /static covers circuit-open and no-endpoint only; the other routes have no static one.
  open_breaker();
  start("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"local 503 circuit-open keep-alive"}));
  EXPECT_EQ(sink_->body, "");
}

TEST_F(ExchangePolicyTest, AnOpenBreakerSendsTheRequestToTheFallbackCluster) {
  open_breaker();
  start("GET /spare HTTP/1.1\r\nHost: a\r\n\r\n");
  FakeEndpoint* e = accept_next();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(position(e), 1u);  // cluster `one`
  answer(e);
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"head 200", "end"}));
  EXPECT_EQ(http().routes[1].stats->per_worker.at(0).fallbacks[0].value(), 1u);
  EXPECT_EQ(cluster_counters(1).requests.value(), 1u);
}

TEST_F(ExchangePolicyTest, TheRetryBudgetRefusesARetryAndTheAnswerStands) {
  // One request in flight, ratio 0.5, no floor: 0.5 x 1 rounds down to no retry at all.
  start("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  FakeEndpoint* e = accept_next();
  ASSERT_NE(e, nullptr);
  answer(e, 503);
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"head 503", "end"}));
  EXPECT_EQ(cluster_counters().retries_over_budget.value(), 1u);
  EXPECT_EQ(cluster_counters().retries.value(), 0u);
  EXPECT_EQ(endpoints_[1 - position(e)].accepted(), 0);
  EXPECT_EQ(cluster().retry_budget->requests(), 0u);  // the ticket went back
}

TEST_F(ExchangePolicyTest, ARetryWaitsItsBackOffOnTheRing) {
  // Two requests in flight make room for one retry (0.5 x 2).
  cluster().retry_budget->request_started();
  start("GET /static/y HTTP/1.1\r\nHost: a\r\n\r\n");
  FakeEndpoint* first = accept_next();
  ASSERT_NE(first, nullptr);
  first->read_until(loop_, "\r\n\r\n");
  first->write("HTTP/1.1 503 X\r\nContent-Length: 0\r\n\r\n");
  const auto answered = std::chrono::steady_clock::now();
  FakeEndpoint* second = accept_next();
  const auto retried = std::chrono::steady_clock::now();
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second, first);
  // base = max = 200ms: the wait is in [100ms, 200ms] (plus the test's polling).
  EXPECT_GE(retried - answered, std::chrono::milliseconds(95));
  EXPECT_LT(retried - answered, std::chrono::milliseconds(1000));
  answer(second);
  EXPECT_EQ(cluster_counters().retries.value(), 1u);
  cluster().retry_budget->request_ended();
}

TEST_F(ExchangePolicyTest, TheTimeLeftGoesUpstreamAndTheClientsCopyDoesNot) {
  start("GET /deadline HTTP/1.1\r\nHost: a\r\n\r\n");
  FakeEndpoint* e = accept_next();
  ASSERT_NE(e, nullptr);
  const std::string head = e->read_until(loop_, "\r\n\r\n");
  const size_t at = head.find("X-Deadline-Ms: ");
  ASSERT_NE(at, std::string::npos) << head;
  const int left = std::stoi(head.substr(at + 15));
  EXPECT_GT(left, 1500);
  EXPECT_LE(left, 2000);
  e->write("HTTP/1.1 200 X\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return saw("end"); }));
}

TEST_F(ExchangePolicyTest, ATrustedClientsShorterBudgetWins) {
  start("GET /deadline HTTP/1.1\r\nHost: a\r\nx-deadline-ms: 300\r\n\r\n");
  const auto sent = std::chrono::steady_clock::now();
  FakeEndpoint* e = accept_next();
  ASSERT_NE(e, nullptr);
  const std::string head = e->read_until(loop_, "\r\n\r\n");
  EXPECT_EQ(head.find("x-deadline-ms"), std::string::npos) << head;  // the client's is gone
  const size_t at = head.find("X-Deadline-Ms: ");
  ASSERT_NE(at, std::string::npos) << head;
  EXPECT_LE(std::stoi(head.substr(at + 15)), 300);
  // The endpoint never answers: 504 after ~300ms, not the route's 2s.
  ASSERT_TRUE(run_until([&] { return !sink_->events.empty(); }, 1500));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"local 504 upstream-timeout close"}));
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(1200));
}

TEST_F(ExchangePolicyTest, AClientWithNoTimeLeftIsAnsweredAtOnce) {
  start("GET /deadline HTTP/1.1\r\nHost: a\r\nX-Deadline-Ms: 0\r\n\r\n");
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"local 504 deadline-exceeded keep-alive"}));
  EXPECT_EQ(endpoints_[0].accepted() + endpoints_[1].accepted(), 0);
}

}  // namespace
}  // namespace sluice::proxy::test
