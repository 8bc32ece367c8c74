// Exchange against endpoints the test plays by hand: what it sends, what it
// tells its sink, when it retries, pools, times out and gives up. No client
// connection is involved: the sink stands for it.
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
        match: { path_prefix: /api }
        cluster: two
        timeouts: { request: 300ms }
        retries: { attempts: 1, on: [connect-failure, 503] }
      - name: hi
        match: { path_exact: /hi }
        direct_response: { status: 200, body: "hi" }
clusters:
  - name: two
    endpoints: [{ address: "{E0}" }, { address: "{E1}" }]
)";

constexpr const char* kOk = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

class ExchangeTest : public ExchangeHarness {
 protected:
  void SetUp() override { build(kConfig); }

  // Starts GET `target` and returns the endpoint that got it (its request read).
  FakeEndpoint* dispatch_get(const std::string& target) {
    exchange_->begin(*this, http(), "10.0.0.7", "10.0.0.7:4321");
    exchange_->on_request_head(request("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    exchange_->flush();
    return accept_next();
  }
  // The endpoint whose listener sluice connected to next.
  FakeEndpoint* accept_next() {
    for (int round = 0; round < 400; ++round) {
      for (FakeEndpoint& e : endpoints_)
        if (e.accept(loop_, 0)) return &e;
      loop_.run_once(5);
    }
    return nullptr;
  }
};

TEST_F(ExchangeTest, ForwardsTheRequestAndStreamsTheResponseBack) {
  FakeEndpoint* e = dispatch_get("/api/x");
  ASSERT_NE(e, nullptr);
  const std::string got = e->read_until(loop_, "\r\n\r\n");
  EXPECT_EQ(got.rfind("GET /api/x HTTP/1.1\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("X-Forwarded-For: 10.0.0.7\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("X-Request-Id: "), std::string::npos) << got;
  EXPECT_TRUE(exchange_->awaiting_response());
  e->write(kOk);
  ASSERT_TRUE(run_until([&] { return saw("end"); }));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"head 200", "end"}));
  EXPECT_EQ(sink_->body, "hello");
  EXPECT_FALSE(exchange_->awaiting_response());
  EXPECT_TRUE(exchange_->response_started());
  // A clean keep-alive exchange parks the connection for the next request.
  EXPECT_EQ(pool_->idle(snapshot_->clusters[0], e == &endpoints_[0] ? 0 : 1), 1u);
  EXPECT_EQ(cluster_counters().requests.value(), 1u);
  EXPECT_EQ(cluster_counters().responses[1].value(), 1u);
}

TEST_F(ExchangeTest, ReusesThePooledConnectionForTheNextRequestToTheSameEndpoint) {
  FakeEndpoint* first = dispatch_get("/api/1");
  ASSERT_NE(first, nullptr);
  first->read_until(loop_, "\r\n\r\n");
  first->write(kOk);
  ASSERT_TRUE(run_until([&] { return saw("end"); }));
  exchange_->end(0, 0);
  // Round robin goes to the other endpoint, then back to the first: on its pooled connection.
  FakeEndpoint* second = dispatch_get("/api/2");
  ASSERT_NE(second, nullptr);
  ASSERT_NE(second, first);
  second->read_until(loop_, "\r\n\r\n");
  second->write(kOk);
  sink_->events.clear();
  ASSERT_TRUE(run_until([&] { return saw("end"); }));
  exchange_->end(0, 0);
  sink_->events.clear();
  exchange_->begin(*this, http(), "10.0.0.7", "");
  exchange_->on_request_head(request("GET /api/3 HTTP/1.1\r\nHost: a\r\n\r\n"));
  exchange_->flush();
  EXPECT_EQ(first->read_until(loop_, "\r\n\r\n").rfind("GET /api/3 ", 0), 0u);
  EXPECT_EQ(first->accepted(), 1);  // no new connection
}

TEST_F(ExchangeTest, AnswersLocallyWithoutTouchingAnEndpoint) {
  exchange_->begin(*this, http(), "10.0.0.7", "");
  exchange_->on_request_head(request("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"local 404 no-route keep-alive"}));
  exchange_->end(0, 0);
  sink_->events.clear();
  exchange_->begin(*this, http(), "10.0.0.7", "");
  exchange_->on_request_head(request("GET /hi HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"local 200  keep-alive"}));
  EXPECT_EQ(cluster_counters().requests.value(), 0u);
}

TEST_F(ExchangeTest, RetriesAnIdempotentRequestOnTheOtherEndpointWhenTheFirstCloses) {
  FakeEndpoint* first = dispatch_get("/api/r");
  ASSERT_NE(first, nullptr);
  first->read_until(loop_, "\r\n\r\n");
  first->close_connection();  // no response at all
  FakeEndpoint* second = accept_next();
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second, first);
  EXPECT_EQ(second->read_until(loop_, "\r\n\r\n").rfind("GET /api/r ", 0), 0u);
  second->write(kOk);
  ASSERT_TRUE(run_until([&] { return saw("end"); }));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"head 200", "end"}));
  EXPECT_EQ(cluster_counters().requests.value(), 2u);
  EXPECT_EQ(cluster_counters().retries.value(), 1u);
}

TEST_F(ExchangeTest, RetriesAListedStatusAndGivesUpWhenNoAttemptIsLeft) {
  FakeEndpoint* first = dispatch_get("/api/s");
  ASSERT_NE(first, nullptr);
  first->read_until(loop_, "\r\n\r\n");
  first->write("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
  FakeEndpoint* second = accept_next();
  ASSERT_NE(second, nullptr);
  second->read_until(loop_, "\r\n\r\n");
  second->write("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
  // One retry configured: the second 503 is the answer.
  ASSERT_TRUE(run_until([&] { return saw("end"); }));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"head 503", "end"}));
}

TEST_F(ExchangeTest, RequestTimeoutAnswers504AndCountsIt) {
  FakeEndpoint* e = dispatch_get("/api/slow");
  ASSERT_NE(e, nullptr);
  e->read_until(loop_, "\r\n\r\n");  // and never answers
  ASSERT_TRUE(run_until([&] { return !sink_->events.empty(); }, 3000));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"local 504 upstream-timeout close"}));
  EXPECT_EQ(cluster_counters().timeouts.value(), 1u);
  EXPECT_FALSE(exchange_->awaiting_response());
}

TEST_F(ExchangeTest, TruncatedBodyFailsTheExchangeInsteadOfEndingIt) {
  FakeEndpoint* e = dispatch_get("/api/t");
  ASSERT_NE(e, nullptr);
  e->read_until(loop_, "\r\n\r\n");
  e->write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
  e->close_connection();
  ASSERT_TRUE(run_until([&] { return saw("failed"); }));
  EXPECT_FALSE(saw("end"));
  EXPECT_EQ(sink_->body, "half");
}

TEST_F(ExchangeTest, InterimResponsesPassAndChunkedBodiesCanComeDechunked) {
  sink_->want_payload = true;
  FakeEndpoint* e = dispatch_get("/api/c");
  ASSERT_NE(e, nullptr);
  e->read_until(loop_, "\r\n\r\n");
  e->write(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return saw("end"); }));
  EXPECT_EQ(sink_->events, (std::vector<std::string>{"interim 100", "head 200", "end"}));
  EXPECT_EQ(sink_->body, "abcde");
}

TEST_F(ExchangeTest, ASlowClientPausesTheEndpointUntilItDrains) {
  FakeEndpoint* e = dispatch_get("/api/big");
  ASSERT_NE(e, nullptr);
  e->read_until(loop_, "\r\n\r\n");
  sink_->backlog = ChunkQueue::kHighWater + 1;  // the client has not taken what it got
  e->write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  run_until([] { return false; }, 100);
  EXPECT_TRUE(sink_->events.empty());  // nothing read while the client is behind
  sink_->backlog = 0;
  exchange_->on_client_drained();
  ASSERT_TRUE(run_until([&] { return saw("end"); }));
  EXPECT_EQ(sink_->body, "abc");
}

TEST_F(ExchangeTest, AResetBeforeAnyResponseIsRetriedThenAnswered502WhenNothingIsLeft) {
  FakeEndpoint* first = dispatch_get("/api/rst");
  ASSERT_NE(first, nullptr);
  first->read_until(loop_, "\r\n\r\n");
  first->reset_connection();
  FakeEndpoint* second = accept_next();
  ASSERT_NE(second, nullptr);
  second->read_until(loop_, "\r\n\r\n");
  second->reset_connection();
  ASSERT_TRUE(run_until([&] { return !sink_->events.empty(); }));
  ASSERT_EQ(sink_->events.size(), 1u);
  EXPECT_EQ(sink_->events[0].rfind("local 502 upstream-", 0), 0u) << sink_->events[0];
}

}  // namespace
}  // namespace sluice::proxy::test
