// Whose fault a failure is: a slow client is answered 408 and never counted
// against the endpoint, while an endpoint that hangs or resets counts towards
// its ejection; and a retry that has nowhere to go keeps the last real answer.
#include <gtest/gtest.h>

#include "tests/proxy/l7/exchange_harness.hpp"

namespace sluice::proxy::test {
namespace {

constexpr const char* kConfig = R"(listeners:
  - name: web
    listen: 127.0.0.1:1
    protocol: http
    routes:
      - name: api
        match: { path_prefix: / }
        cluster: two
        timeouts: { request: 300ms }
        retries: { attempts: 1, on: [connect-failure, 503] }
clusters:
  - name: two
    endpoints: [{ address: "{E0}" }, { address: "{E1}" }]
    circuit_breaker: { consecutive_failures: 1 }
    outlier_detection: { consecutive_5xx: 1, max_ejected_percent: 100 }
)";

class ExchangeFailureTest : public ExchangeHarness {
 protected:
  void SetUp() override { build(kConfig); }

  void start(const std::string& head) {
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
  bool ejected(uint32_t i) const {
    return cluster().outliers->is_ejected(i, clock::monotonic_ns());
  }
};

TEST_F(ExchangeFailureTest, ASlowBodyIsTheClientsTimeoutNotTheEndpoints) {
  start("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n");
  FakeEndpoint* e = accept_next();
  ASSERT_NE(e, nullptr);
  e->read_until(loop_, "\r\n\r\n");  // the head went; the body trickles (here: never comes)
  ASSERT_TRUE(run_until([&] { return !sink_->events.empty(); }, 3000));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"local 408 body-timeout close"}));
  EXPECT_EQ(counters().timeouts.value(), 1u);
  EXPECT_EQ(cluster_counters().timeouts.value(), 0u);
  // Neither the breaker nor outlier detection blames the endpoint.
  EXPECT_EQ(cluster().breaker->stats().state, limiter::BreakerState::closed);
  EXPECT_FALSE(ejected(position(e)));
}

TEST_F(ExchangeFailureTest, AnEndpointThatNeverAnswersIsEjected) {
  start("GET /hang HTTP/1.1\r\nHost: a\r\n\r\n");
  FakeEndpoint* e = accept_next();
  ASSERT_NE(e, nullptr);
  e->read_until(loop_, "\r\n\r\n");  // accepts, reads, never answers
  ASSERT_TRUE(run_until([&] { return !sink_->events.empty(); }, 3000));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"local 504 upstream-timeout close"}));
  EXPECT_TRUE(ejected(position(e)));
  EXPECT_EQ(cluster_counters().timeouts.value(), 1u);
}

TEST_F(ExchangeFailureTest, AResetBeforeTheResponseCountsTowardsEjection) {
  start("GET /rst HTTP/1.1\r\nHost: a\r\n\r\n");
  FakeEndpoint* first = accept_next();
  ASSERT_NE(first, nullptr);
  first->read_until(loop_, "\r\n\r\n");
  first->reset_connection();
  FakeEndpoint* second = accept_next();  // retried elsewhere
  ASSERT_NE(second, nullptr);
  EXPECT_TRUE(ejected(position(first)));
  second->read_until(loop_, "\r\n\r\n");
  second->write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return saw("end"); }));
  EXPECT_FALSE(ejected(position(second)));
}

TEST_F(ExchangeFailureTest, ARetryWithNowhereToGoKeepsTheLastRealAnswer) {
  start("GET /busy HTTP/1.1\r\nHost: a\r\n\r\n");
  FakeEndpoint* first = accept_next();
  ASSERT_NE(first, nullptr);
  // The only other endpoint is ejected: the retry has nowhere to go.
  ASSERT_TRUE(cluster().outliers->on_5xx(1 - position(first), clock::monotonic_ns()));
  first->read_until(loop_, "\r\n\r\n");
  first->write("HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy");
  ASSERT_TRUE(run_until([&] { return saw("end"); }));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"head 503", "end"}));
  EXPECT_EQ(sink_->body, "busy");
  EXPECT_EQ(cluster_counters().retries.value(), 0u);
}

}  // namespace
}  // namespace sluice::proxy::test
