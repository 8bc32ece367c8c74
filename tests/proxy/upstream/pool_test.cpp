// UpstreamPool with real loopback connections: LIFO reuse, the per-endpoint
// cap, connections bound to one client (PROXY protocol), the idle timeout,
// endpoints closing pooled connections, close(), and
// the count of live connections with its on_freed callback.
#include "proxy/upstream/pool.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "proxy/upstream/upstream_connection.hpp"
#include "tests/proxy/upstream/upstream_test_util.hpp"

namespace sluice::proxy {
namespace {

using test::pump_for;
using test::pump_until;

// The cluster's `pool:` defaults (the fixture's clusters leave them alone).
constexpr size_t kMaxIdle = config::ConnectionPool{}.max_idle;
constexpr uint64_t kIdleTimeoutMs = 30000;

class PoolTest : public test::UpstreamFixture {
 protected:
  TimerList& idle_timers(uint64_t timeout_ms = kIdleTimeoutMs) { return loop_.timers(timeout_ms); }
};

static_assert(config::ConnectionPool{}.idle_timeout.count() == kIdleTimeoutMs);

TEST_F(PoolTest, TakeReturnsTheMostRecentlyParkedFirst) {
  std::vector<Opened> opened;
  for (int i = 0; i < 3; ++i) opened.push_back(open(0));
  EXPECT_EQ(pool_->live(), 3u);
  for (Opened& o : opened) ASSERT_TRUE(pool_->put(o.connection));
  EXPECT_EQ(pool_->idle(cluster(), 0), 3u);
  EXPECT_EQ(pool_->idle(cluster(), 1), 0u);
  EXPECT_TRUE(opened[0].connection->pooled);
  EXPECT_TRUE(opened[0].connection->idle_in_pool());  // no owner while parked
  EXPECT_EQ(idle_timers().size(), 3u);

  EXPECT_EQ(pool_->take(cluster(), 1), nullptr);  // lists are per endpoint
  for (int i = 2; i >= 0; --i) {
    UpstreamConnection* c = pool_->take(cluster(), 0);
    ASSERT_EQ(c, opened[i].connection);
    EXPECT_FALSE(c->pooled);
    EXPECT_FALSE(TimerList::running(c->pool_timer));  // in use: no idle timeout
  }
  EXPECT_EQ(pool_->take(cluster(), 0), nullptr);
  EXPECT_EQ(idle_timers().size(), 0u);

  for (Opened& o : opened) o.connection->close();
  ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == 0; }));
  EXPECT_EQ(freed_, 3);
}

// A connection that began with one client's PROXY header waits for that client only, and
// goes when that client's connection does.
TEST_F(PoolTest, ABoundConnectionIsOnlyItsOwnClientsAndClosesWithIt) {
  int first_client = 0;
  int second_client = 0;
  Opened shared = open(0);
  Opened bound = open(0);
  bound.connection->bound_to = &first_client;
  ASSERT_TRUE(pool_->put(shared.connection));
  ASSERT_TRUE(pool_->put(bound.connection));
  // The most recent one is bound: a shared take passes it over, so does another client.
  EXPECT_EQ(pool_->take(cluster(), 0, &second_client), nullptr);
  EXPECT_EQ(pool_->take(cluster(), 0, &first_client), bound.connection);
  ASSERT_TRUE(pool_->put(bound.connection));
  EXPECT_EQ(pool_->take(cluster(), 0), shared.connection);
  EXPECT_EQ(pool_->idle(cluster(), 0), 1u);
  pool_->close_bound(&second_client);  // not its client: stays
  EXPECT_EQ(pool_->idle(cluster(), 0), 1u);
  pool_->close_bound(&first_client);
  EXPECT_EQ(pool_->idle(cluster(), 0), 0u);
  shared.connection->close();
  ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == 0; }));
}

TEST_F(PoolTest, RefusesMoreThanMaxIdlePerEndpoint) {
  std::vector<Opened> opened;
  for (size_t i = 0; i <= kMaxIdle; ++i) opened.push_back(open(0));
  for (size_t i = 0; i < kMaxIdle; ++i) ASSERT_TRUE(pool_->put(opened[i].connection)) << i;
  UpstreamConnection* extra = opened.back().connection;
  EXPECT_FALSE(pool_->put(extra));
  EXPECT_FALSE(extra->pooled);
  EXPECT_EQ(pool_->idle(cluster(), 0), kMaxIdle);

  // The cap is per endpoint: the other endpoint's list still takes one.
  Opened other = open(1);
  EXPECT_TRUE(pool_->put(other.connection));
  extra->close();  // what a caller does when put() refuses
  // TearDown's pool close() frees the other 65.
}

// A cluster's pool: settings replace the defaults.
TEST_F(PoolTest, TheClustersPoolSettingsApply) {
  clusters_.configs[0].pool.max_idle = 1;
  clusters_.configs[0].pool.idle_timeout = config::Duration(500);
  Opened a = open(0);
  Opened b = open(0);
  ASSERT_TRUE(pool_->put(a.connection));
  EXPECT_FALSE(pool_->put(b.connection));  // max_idle 1
  b.connection->close();
  const uint64_t parked_at = loop_.now_ms();
  EXPECT_EQ(idle_timers(500).size(), 1u);
  idle_timers(500).expire(parked_at + 499);
  EXPECT_TRUE(a.connection->pooled);
  idle_timers(500).expire(parked_at + 500);
  EXPECT_FALSE(a.connection->pooled);
  ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == 0; }));
}

TEST_F(PoolTest, IdleTimeoutClosesAPooledConnection) {
  Opened o = open(0);
  UpstreamConnection* c = o.connection;
  ASSERT_TRUE(c->park());
  ASSERT_TRUE(TimerList::running(c->pool_timer));
  // The timer started at the loop's clock when parked; the loop has not run since.
  const uint64_t parked_at = loop_.now_ms();
  idle_timers().expire(parked_at + kIdleTimeoutMs - 1);
  EXPECT_TRUE(c->pooled);
  idle_timers().expire(parked_at + kIdleTimeoutMs);
  EXPECT_EQ(pool_->idle(cluster(), 0), 0u);
  EXPECT_TRUE(c->closing());  // freed once the kernel returned its receive
  EXPECT_FALSE(c->pooled);
  ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == 0; }));
  EXPECT_EQ(freed_, 1);
  bool eof = false;
  test::read_while_pumping(loop_, o.server.get(), 0, true, &eof);
  EXPECT_TRUE(eof);  // the endpoint saw the connection end
}

TEST_F(PoolTest, EndpointClosingAPooledConnectionDropsIt) {
  Opened o = open(0);
  Opened kept = open(0);
  ASSERT_TRUE(o.connection->park());
  ASSERT_TRUE(kept.connection->park());
  o.server.reset();  // FIN from the endpoint while idle
  ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == 1; }));
  EXPECT_EQ(freed_, 1);
  EXPECT_EQ(pool_->idle(cluster(), 0), 1u);
  EXPECT_EQ(idle_timers().size(), 1u);  // its timer went with it
  EXPECT_EQ(pool_->take(cluster(), 0), kept.connection);
  kept.connection->close();
  ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == 0; }));
  EXPECT_EQ(freed_, 2);
}

// Regression: a reset (not a FIN) of a pooled connection goes Stream::fail ->
// Stream::close -> on_stream_error -> UpstreamConnection::close(), which once
// returned at once because the stream was already closing: the connection
// stayed on the idle list with its pool_timer linked, then on_stream_closed
// freed it, and take(), the idle timeout and UpstreamPool::close() used freed
// memory.
TEST_F(PoolTest, EndpointResettingAPooledConnectionDropsIt) {
  Opened o = open(0);
  ASSERT_TRUE(o.connection->park());
  test::reset_close(o.server);
  ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == 0; }));
  // Only reads that do not follow the (possibly dangling) pointer.
  const bool clean = pool_->idle(cluster(), 0) == 0 && idle_timers().size() == 0;
  EXPECT_EQ(pool_->idle(cluster(), 0), 0u);
  EXPECT_EQ(idle_timers().size(), 0u);
  if (!clean) {
    // The pool's idle list holds a freed connection: closing the pool would
    // touch it, so leak the pool instead (the loop never expires timers here).
    (void)pool_.release();
  }
}

TEST_F(PoolTest, CloseClosesIdleConnectionsAndRefusesPutAfterwards) {
  Opened a = open(0), b = open(1), busy = open(0);
  ASSERT_TRUE(a.connection->park());
  ASSERT_TRUE(b.connection->park());
  pool_->close();
  EXPECT_EQ(pool_->idle(cluster(), 0), 0u);
  EXPECT_EQ(pool_->idle(cluster(), 1), 0u);
  EXPECT_TRUE(a.connection->closing());
  EXPECT_TRUE(b.connection->closing());
  EXPECT_FALSE(busy.connection->closing());  // in use: not the pool's to close
  EXPECT_FALSE(pool_->put(busy.connection));
  EXPECT_FALSE(busy.connection->park());
  EXPECT_FALSE(busy.connection->pooled);
  ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == 1; }));
  EXPECT_EQ(freed_, 2);

  busy.connection->close();
  ASSERT_TRUE(pump_until(loop_, [&] { return pool_->live() == 0; }));
  pump_for(loop_, 20);
  EXPECT_EQ(freed_, 3);  // once per connection, never again
}

}  // namespace
}  // namespace sluice::proxy
