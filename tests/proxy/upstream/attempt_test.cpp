// Attempt: what dial() answers and what it counts, with real loopback
// connects: no endpoint, exhausted, the cluster caps, pooled connections
// first, connect failures reported to outlier detection.
#include "proxy/upstream/attempt.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <memory>

#include "limiter/concurrency_limit.hpp"
#include "limiter/outlier_detector.hpp"
#include "proxy/core/clock.hpp"
#include "tests/proxy/upstream/upstream_test_util.hpp"

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;
using test::pump_until;
using Dial = Attempt::Dial;

class AttemptTest : public test::UpstreamFixture {
 protected:
  Dial dial(Attempt& attempt, bool allow_pooled = true) {
    return attempt.dial(*pool_, core_, 0, &owner_, 1000ms, allow_pooled);
  }
  metrics::ClusterCounters& counters(size_t i = 0) { return cluster(i).stats->per_worker.at(0); }
  // Closes what the attempt holds and waits until it is freed.
  void close_all(Attempt& attempt, size_t remaining = 0) {
    if (UpstreamConnection* c = attempt.release()) c->close();
    ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == remaining; }));
  }
  uint32_t in_flight(size_t c, uint32_t endpoint) {
    return cluster(c).endpoints.load(endpoint)->in_flight.load();
  }

  balancers::CoreState core_;  // cursor 0: round robin starts at endpoint 0
};

TEST_F(AttemptTest, AllEjectedClusterHasNoEndpoint) {
  limiter::OutlierOptions options;
  options.consecutive_connect_failures = 1;
  options.max_ejected_percent = 100;
  cluster().outliers = std::make_shared<limiter::OutlierDetector>(options, 2);
  const int64_t now = clock::monotonic_ns();
  ASSERT_TRUE(cluster().outliers->on_connect_failure(0, now));
  ASSERT_TRUE(cluster().outliers->on_connect_failure(1, now));
  Attempt attempt;
  attempt.begin(cluster(), 0, 3);
  EXPECT_EQ(dial(attempt), Dial::no_endpoint);
  EXPECT_EQ(attempt.connection(), nullptr);
  EXPECT_FALSE(attempt.dispatched());
  EXPECT_EQ(attempt.attempts_left(), 3);       // nothing was spent
  EXPECT_EQ(counters().requests.value(), 0u);  // nor counted
  EXPECT_EQ(pool_->live(), 0u);
}

TEST_F(AttemptTest, DialsEachEndpointOnceThenIsExhausted) {
  cluster().tracks_load = true;
  Attempt attempt;
  attempt.begin(cluster(), 0, 5);
  ASSERT_EQ(dial(attempt), Dial::connecting);
  ASSERT_NE(attempt.connection(), nullptr);
  EXPECT_FALSE(attempt.reused());
  const uint32_t first = attempt.endpoint();
  EXPECT_EQ(in_flight(0, first), 1u);  // counted from the pick on
  ASSERT_TRUE(pump_until(loop_, [&] { return owner_.connects.size() == 1; }));
  EXPECT_EQ(owner_.connects[0], 0);
  attempt.release()->close();
  EXPECT_EQ(in_flight(0, first), 0u);

  ASSERT_EQ(dial(attempt), Dial::connecting);  // a retry: the other endpoint
  EXPECT_NE(attempt.endpoint(), first);
  EXPECT_EQ(attempt.tried(), 2u);
  EXPECT_EQ(counters().requests.value(), 2u);
  EXPECT_EQ(counters().retries.value(), 1u);
  close_all(attempt);

  EXPECT_EQ(dial(attempt), Dial::exhausted);
  EXPECT_EQ(attempt.connection(), nullptr);
  EXPECT_EQ(attempt.attempts_left(), 3);
}

TEST_F(AttemptTest, MaxPendingRefusesANewConnection) {
  cluster().tracks_load = true;
  cluster().limits = std::make_shared<limiter::ClusterLimits>(
      limiter::ClusterLimitsOptions{.max_connections = 0, .max_pending = 1, .max_requests = 0});
  auto held = limiter::ConcurrencyPermit::try_acquire(cluster().limits->pending);
  ASSERT_TRUE(held);
  Attempt attempt;
  attempt.begin(cluster(), 0, 2);
  EXPECT_EQ(dial(attempt), Dial::max_pending);
  EXPECT_EQ(attempt.connection(), nullptr);
  EXPECT_EQ(cluster().limits->pending.in_use(), 1u);      // only ours
  EXPECT_EQ(cluster().limits->connections.in_use(), 0u);  // never taken
  EXPECT_EQ(in_flight(0, attempt.endpoint()), 0u);        // the load count ended
  EXPECT_EQ(pool_->live(), 0u);
}

TEST_F(AttemptTest, MaxConnectionsRefusesANewConnectionAndReturnsThePendingSlot) {
  cluster().limits = std::make_shared<limiter::ClusterLimits>(
      limiter::ClusterLimitsOptions{.max_connections = 1, .max_pending = 1, .max_requests = 0});
  Attempt first;
  first.begin(cluster(), 0, 1);
  ASSERT_EQ(dial(first), Dial::connecting);
  EXPECT_EQ(cluster().limits->pending.in_use(), 1u);
  EXPECT_EQ(cluster().limits->connections.in_use(), 1u);
  ASSERT_TRUE(pump_until(loop_, [&] { return owner_.connects.size() == 1; }));
  EXPECT_EQ(cluster().limits->pending.in_use(), 0u);  // connected: no longer pending
  EXPECT_EQ(cluster().limits->connections.in_use(), 1u);

  Attempt second;
  second.begin(cluster(), 0, 1);
  EXPECT_EQ(dial(second), Dial::max_connections);
  EXPECT_EQ(second.connection(), nullptr);
  EXPECT_EQ(cluster().limits->pending.in_use(), 0u);  // the pending slot went back

  close_all(first);
  EXPECT_EQ(cluster().limits->connections.in_use(), 0u);  // with the connection's life
}

TEST_F(AttemptTest, TakesAPooledConnectionFirstUnlessRetryingTheSameEndpoint) {
  Opened parked = open(0);
  ASSERT_TRUE(parked.connection->park());
  Attempt attempt;
  attempt.begin(cluster(), 0, 3);
  ASSERT_EQ(dial(attempt), Dial::pooled);
  EXPECT_EQ(attempt.connection(), parked.connection);
  EXPECT_TRUE(attempt.reused());
  EXPECT_FALSE(parked.connection->idle_in_pool());  // it has an owner again
  EXPECT_EQ(pool_->idle(cluster(), 0), 0u);

  // Say the endpoint had closed it meanwhile: endpoint 0 becomes eligible
  // again without spending an attempt, and the next dial must not hand out a
  // pooled connection (another one is parked there now).
  ASSERT_TRUE(attempt.connection()->park());
  attempt.release();
  attempt.retry_same_endpoint();
  EXPECT_EQ(attempt.tried(), 0u);
  EXPECT_EQ(attempt.attempts_left(), 3);
  core_.cursor = 0;  // the balancer still chooses: make the round robin land on 0 again
  ASSERT_EQ(dial(attempt), Dial::connecting);
  EXPECT_EQ(attempt.endpoint(), 0u);
  EXPECT_FALSE(attempt.reused());
  EXPECT_EQ(pool_->idle(cluster(), 0), 1u);  // the parked one was left alone
  EXPECT_EQ(attempt.attempts_left(), 2);
  close_all(attempt, 1);  // TearDown closes the parked one

  // Without retry_same_endpoint the pool is used again.
  Attempt next;
  next.begin(cluster(), 0, 1);
  core_.cursor = 0;
  ASSERT_EQ(dial(next), Dial::pooled);
  close_all(next);
}

TEST_F(AttemptTest, ConnectFailureIsCountedAndEjectsTheEndpoint) {
  ClusterRuntime& c = cluster(1);  // endpoint 0 refuses connects
  limiter::OutlierOptions options;
  options.consecutive_connect_failures = 1;
  options.max_ejected_percent = 100;
  c.outliers = std::make_shared<limiter::OutlierDetector>(options, 2);
  Attempt attempt;
  attempt.begin(c, 0, 2);
  // As an exchange does: the failure is reported from on_upstream_connected,
  // then the connection closes itself.
  owner_.on_connected = [&](UpstreamConnection&, int result) {
    if (result < 0) attempt.connect_failed(result);
  };
  ASSERT_EQ(dial(attempt), Dial::connecting);
  ASSERT_EQ(attempt.endpoint(), 0u);
  ASSERT_TRUE(pump_until(loop_, [&] { return !owner_.connects.empty(); }));
  EXPECT_EQ(owner_.connects[0], -ECONNREFUSED);
  EXPECT_EQ(attempt.connection(), nullptr);
  EXPECT_EQ(counters(1).connect_failures.value(), 1u);
  EXPECT_TRUE(c.outliers->is_ejected(0, clock::monotonic_ns()));
  ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == 0; }));  // it freed itself

  ASSERT_EQ(dial(attempt), Dial::connecting);
  EXPECT_EQ(attempt.endpoint(), 1u);
  close_all(attempt);
}

}  // namespace
}  // namespace sluice::proxy
