// RedisSync as the control loop sees it: non-blocking connects and rounds, driven through fd(),
// wants_write() and on_io(), against servers that misbehave in the ways that used to stall the
// control thread (silent, unreachable, refusing) and a real redis-server that restarts. The
// limits are GlobalKeyedLimiters deciding key 0 (`key: global`); a round carries only keys
// decided lately, so each test decides the key (touch) before the round it wants sent.
#include "limiter/redis_sync.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "redis_server.hpp"
#include "redis_sync_driver.hpp"

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr Nanos kMs = 1'000'000;

// A loopback TCP socket bound to a free port; listening with `backlog` when asked to. The kernel
// completes handshakes for a listener without accept(), and never answers: a silent "Redis".
class Socket {
 public:
  explicit Socket(int backlog = -1) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
        (backlog >= 0 && ::listen(fd_, backlog) != 0) || ::fcntl(fd_, F_SETFL, O_NONBLOCK) != 0) {
      ADD_FAILURE() << "cannot set up a loopback socket";
    }
    port_ = ntohs(a.sin_port);
  }
  ~Socket() {
    for (int c : accepted_) ::close(c);
    ::close(fd_);
  }
  int port() const { return port_; }

  // Accepts every pending connection and keeps it open, saying nothing; returns how many.
  int accept_all() {
    int n = 0;
    for (int c; (c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK)) >= 0; ++n) {
      accepted_.push_back(c);
    }
    return n;
  }
  // Bytes the clients sent on accepted connections so far (read and discarded).
  size_t drain() {
    char buf[65536];
    for (int c : accepted_) {
      for (ssize_t r; (r = ::recv(c, buf, sizeof buf, MSG_DONTWAIT)) > 0;) received_ += r;
    }
    return received_;
  }

 private:
  int fd_;
  int port_ = 0;
  std::vector<int> accepted_;
  size_t received_ = 0;
};

RedisSyncOptions options(int port) {
  RedisSyncOptions o;
  o.port = port;
  o.server_time = false;
  o.connect_timeout = 100ms;
  o.command_timeout = 200ms;
  o.backoff_min = 50ms;
  o.backoff_max = 200ms;
  return o;
}

constexpr uint64_t kGlobal = 0;  // the key of `key: global`

std::shared_ptr<GlobalKeyedLimiter> limiter(const std::string& name,
                                            OnError on_error = OnError::deny) {
  return std::make_shared<GlobalKeyedLimiter>(GlobalLimitOptions{
      .name = name, .count = 1000, .per = 1s, .burst = 100, .on_error = on_error, .max_keys = 8});
}

// A request for the global key, so that the next round has it to send (refused by on_error
// until Redis answered: deny).
void touch(GlobalKeyedLimiter& l, Nanos now) {
  l.admit(kGlobal, now);
}

// Wall time one tick() takes; the old blocking sync took up to connect + command timeout.
Clock::duration timed_tick(RedisSync& sync, Nanos now) {
  const auto start = Clock::now();
  sync.tick(now);
  return Clock::now() - start;
}

TEST(RedisSync, SilentServerTimesOutAfterCommandTimeoutWithoutBlocking) {
  Socket silent(16);
  RedisSync sync(options(silent.port()));
  auto l = limiter("silent");
  sync.add(l);
  touch(*l, 0);

  EXPECT_LT(timed_tick(sync, 0), 50ms);
  EXPECT_EQ(sync.connection_serial(), 1u);
  EXPECT_GE(sync.fd(), 0);
  EXPECT_FALSE(testing::await_round(sync, 0, 100ms));  // connected, but nothing ever answers
  EXPECT_TRUE(sync.stats().connected);
  EXPECT_EQ(sync.stats().connects, 1u);
  EXPECT_TRUE(sync.in_flight());
  EXPECT_FALSE(sync.wants_write());  // the round went out whole
  EXPECT_EQ(silent.accept_all(), 1);
  EXPECT_GT(silent.drain(), 0u);
  EXPECT_FALSE(l->redis_ok());  // nothing answered yet: on_error decides, not an empty pool
  EXPECT_EQ(l->pool(kGlobal, 0), 0);

  // Within command_timeout a later tick neither fails the round nor starts another.
  const int fd = sync.fd();
  const size_t sent = silent.drain();
  EXPECT_LT(timed_tick(sync, 199 * kMs), 50ms);
  EXPECT_EQ(sync.stats().errors, 0u);
  EXPECT_TRUE(sync.in_flight());
  EXPECT_EQ(sync.fd(), fd);
  EXPECT_EQ(silent.drain(), sent);

  EXPECT_LT(timed_tick(sync, 200 * kMs), 50ms);  // command_timeout after the round went out
  EXPECT_EQ(sync.stats().errors, 1u);
  EXPECT_FALSE(sync.stats().connected);
  EXPECT_FALSE(sync.in_flight());
  EXPECT_EQ(sync.fd(), -1);
  EXPECT_FALSE(sync.wants_write());
  EXPECT_EQ(sync.stats().round_trips, 0u);
  EXPECT_EQ(sync.stats().commands, 0u);
  EXPECT_FALSE(l->redis_ok());
  EXPECT_FALSE(l->admit(kGlobal, 200 * kMs).admitted);  // fail closed
  EXPECT_EQ(l->on_error_total(), 2u);                   // the touch, then this

  // Backoff: the next attempt at 250 ms (+50), then 550 ms (+100 after the second failure).
  sync.tick(249 * kMs);
  EXPECT_EQ(sync.connection_serial(), 1u);
  EXPECT_EQ(sync.fd(), -1);
  sync.tick(250 * kMs);
  EXPECT_EQ(sync.connection_serial(), 2u);
  EXPECT_FALSE(testing::await_round(sync, 250 * kMs, 100ms));
  EXPECT_EQ(sync.stats().connects, 2u);
  sync.tick(449 * kMs);
  EXPECT_EQ(sync.stats().errors, 1u);
  sync.tick(450 * kMs);
  EXPECT_EQ(sync.stats().errors, 2u);
  sync.tick(549 * kMs);
  EXPECT_EQ(sync.connection_serial(), 2u);
  sync.tick(550 * kMs);
  EXPECT_EQ(sync.connection_serial(), 3u);
}

TEST(RedisSync, ConnectThatNeverCompletesFailsAfterConnectTimeout) {
  // A listener whose accept queue is full drops new SYNs: the connect stays in progress.
  Socket full(0);
  const int filler = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(full.port()));
  ASSERT_EQ(::connect(filler, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);

  RedisSync sync(options(full.port()));
  auto l = limiter("unreachable");
  sync.add(l);
  touch(*l, 0);
  EXPECT_LT(timed_tick(sync, 0), 50ms);
  EXPECT_FALSE(testing::await_round(sync, 0, 100ms));
  EXPECT_FALSE(sync.stats().connected);
  EXPECT_TRUE(sync.wants_write());  // still connecting
  EXPECT_EQ(sync.stats().errors, 0u);

  // A spurious wakeup neither completes the connect nor fails it before its deadline.
  sync.on_io(true, true, 99 * kMs);
  EXPECT_FALSE(sync.stats().connected);
  EXPECT_EQ(sync.stats().errors, 0u);
  EXPECT_TRUE(sync.in_flight());
  // on_io judges the deadline too, not only tick().
  sync.on_io(false, false, 100 * kMs);
  EXPECT_EQ(sync.stats().errors, 1u);
  EXPECT_EQ(sync.fd(), -1);
  EXPECT_FALSE(l->redis_ok());

  sync.tick(150 * kMs);  // after the backoff: a new attempt, failed by a tick this time
  EXPECT_EQ(sync.connection_serial(), 2u);
  EXPECT_FALSE(testing::await_round(sync, 150 * kMs, 50ms));
  sync.tick(249 * kMs);
  EXPECT_EQ(sync.stats().errors, 1u);
  EXPECT_LT(timed_tick(sync, 250 * kMs), 50ms);
  EXPECT_EQ(sync.stats().errors, 2u);
  EXPECT_EQ(sync.stats().connects, 0u);
  ::close(filler);
}

TEST(RedisSync, RefusedConnectCountsAnErrorWithoutBlocking) {
  Socket closed;  // bound, not listening: a connect gets a reset
  RedisSyncOptions o = options(closed.port());
  o.connect_timeout = 1s;
  RedisSync sync(o);
  auto l = limiter("refused");
  sync.add(l);
  touch(*l, 0);

  EXPECT_LT(timed_tick(sync, 0), 50ms);
  EXPECT_TRUE(testing::await_round(sync, 0));
  EXPECT_EQ(sync.stats().errors, 1u);
  EXPECT_EQ(sync.stats().connects, 0u);
  EXPECT_FALSE(sync.stats().connected);
  EXPECT_EQ(sync.fd(), -1);
  EXPECT_FALSE(l->redis_ok());
  EXPECT_FALSE(l->admit(kGlobal, 0).admitted);

  EXPECT_TRUE(testing::tick_and_await(sync, 49 * kMs));
  EXPECT_EQ(sync.connection_serial(), 1u);
  EXPECT_TRUE(testing::tick_and_await(sync, 50 * kMs));
  EXPECT_EQ(sync.connection_serial(), 2u);
  EXPECT_EQ(sync.stats().errors, 2u);
}

TEST(RedisSync, ReconnectsAfterTheServerRestartsAndResetsTheBackoff) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSync sync(options(redis.port()));
  auto l = limiter("restart");
  sync.add(l);
  touch(*l, 0);
  ASSERT_TRUE(testing::tick_and_await(sync, 0));
  ASSERT_TRUE(sync.stats().connected);
  ASSERT_EQ(sync.stats().round_trips, 1u);
  ASSERT_GT(l->pool(kGlobal, 0), 0);

  for (int restart = 1; restart <= 2; ++restart) {
    SCOPED_TRACE(restart);
    // Within the key's idle TTL (200 ms here) of its last request: the same view of it, whose
    // pool the rounds fill (its credit is 0: the lease emptied the bucket).
    const Nanos t = 100 * kMs * restart;
    redis.kill();
    ASSERT_TRUE(redis.start());
    while (l->admit(kGlobal, t).admitted) {  // spends the pool: the key is in use
    }
    EXPECT_TRUE(testing::tick_and_await(sync, t));  // the old connection is dead
    EXPECT_EQ(sync.stats().errors, static_cast<uint64_t>(restart));
    EXPECT_FALSE(sync.stats().connected);
    EXPECT_FALSE(l->redis_ok());
    // backoff_min each time: the completed round in between reset it.
    EXPECT_TRUE(testing::tick_and_await(sync, t + 49 * kMs));
    EXPECT_EQ(sync.connection_serial(), static_cast<uint64_t>(restart));
    EXPECT_TRUE(testing::tick_and_await(sync, t + 50 * kMs));
    EXPECT_EQ(sync.connection_serial(), static_cast<uint64_t>(restart + 1));
    EXPECT_TRUE(sync.stats().connected);
    EXPECT_EQ(sync.stats().connects, static_cast<uint64_t>(restart + 1));
    EXPECT_EQ(sync.stats().round_trips, static_cast<uint64_t>(restart + 1));
    EXPECT_TRUE(l->redis_ok());
    EXPECT_GT(l->pool(kGlobal, t + 50 * kMs), 0);
  }
}

TEST(RedisSync, ConnectWithNothingToSyncStillMarksLimitersHealthy) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSync sync(options(redis.port()));
  auto l = limiter("idle");
  sync.add(l);
  touch(*l, 0);
  ASSERT_TRUE(testing::tick_and_await(sync, 0));  // demand of one: two intervals of the rate
  ASSERT_EQ(l->pool(kGlobal, 0), 100);
  // Decided nothing since: read back for kRefreshRounds rounds, then left out of them.
  for (Nanos t = 10 * kMs; t <= 80 * kMs; t += 10 * kMs)
    ASSERT_TRUE(testing::tick_and_await(sync, t));
  ASSERT_EQ(sync.stats().round_trips, 1u + GlobalKeyState::kRefreshRounds);
  redis.kill();
  ASSERT_TRUE(redis.start());
  EXPECT_TRUE(testing::tick_and_await(sync, 90 * kMs));
  EXPECT_FALSE(l->redis_ok());
  EXPECT_TRUE(testing::tick_and_await(sync, 140 * kMs));  // nothing to send
  EXPECT_TRUE(sync.stats().connected);
  EXPECT_EQ(sync.stats().round_trips, 1u + GlobalKeyState::kRefreshRounds);
  EXPECT_EQ(sync.stats().commands, 1u + GlobalKeyState::kRefreshRounds);
  EXPECT_TRUE(l->redis_ok());
}

TEST(RedisSync, ScriptErrorFailsOnlyThatLimiter) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  redisContext* c = redisConnect("127.0.0.1", redis.port());
  ASSERT_TRUE(c != nullptr && c->err == 0);
  auto broken = limiter("broken");
  auto fine = limiter("fine");
  const std::string key = broken->redis_key("sluice:rl:", kGlobal);
  freeReplyObject(redisCommand(c, "SET %s not-a-hash", key.c_str()));  // HMGET will refuse it
  redisFree(c);
  RedisSync sync(options(redis.port()));
  sync.add(broken);
  sync.add(fine);
  touch(*broken, 0);
  touch(*fine, 0);
  EXPECT_TRUE(testing::tick_and_await(sync, 0));
  EXPECT_EQ(sync.stats().errors, 1u);
  EXPECT_EQ(sync.stats().commands, 2u);
  EXPECT_EQ(sync.stats().round_trips, 1u);
  EXPECT_TRUE(sync.stats().connected);  // the connection is fine
  EXPECT_FALSE(broken->redis_ok());
  EXPECT_EQ(broken->pool(kGlobal, 0), 0);
  EXPECT_TRUE(fine->redis_ok());
  EXPECT_GT(fine->pool(kGlobal, 0), 0);
}

TEST(RedisSync, LargeRoundIsWrittenAcrossSeveralWakeups) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSync sync(options(redis.port()));
  std::vector<std::shared_ptr<GlobalKeyedLimiter>> limiters;
  // 500 EVALs with 16 KiB keys, ~8.5 MB: more than loopback socket buffers hold (~4 MB).
  for (int i = 0; i < 500; ++i) {
    limiters.push_back(limiter(std::string(16384, 'k') + std::to_string(i)));
    sync.add(limiters.back());
    touch(*limiters.back(), 0);
  }
  redis.pause();  // the kernel still completes the handshake; nobody reads
  sync.tick(0);   // not timed: formatting 8.5 MB is work, not waiting (slow under ASan)
  EXPECT_FALSE(testing::await_round(sync, 0, 200ms));
  EXPECT_TRUE(sync.stats().connected);
  EXPECT_TRUE(sync.wants_write());  // the rest waits for room, without blocking anyone
  EXPECT_LT(timed_tick(sync, 100 * kMs), 50ms);
  EXPECT_TRUE(sync.wants_write());
  redis.resume();
  EXPECT_TRUE(testing::await_round(sync, 100 * kMs));
  EXPECT_FALSE(sync.wants_write());
  EXPECT_EQ(sync.stats().errors, 0u);
  EXPECT_EQ(sync.stats().commands, 500u);
  EXPECT_EQ(sync.stats().round_trips, 1u);
  for (const auto& l : limiters)
    EXPECT_EQ(l->pool(kGlobal, 100 * kMs), 100);  // 2 x 50 ms of 1000/s
}

TEST(RedisSync, LimitersRemovedDuringARoundStillGetTheirLease) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  RedisSync sync(options(redis.port()));
  auto kept = limiter("removed-kept");
  auto dropped = limiter("removed-dropped");
  sync.add(kept);
  sync.add(dropped);
  touch(*kept, 0);
  touch(*dropped, 0);
  sync.tick(0);
  ASSERT_TRUE(sync.in_flight());
  sync.remove(kept.get());
  sync.remove(dropped.get());
  const std::weak_ptr<GlobalKeyedLimiter> watch = dropped;
  dropped.reset();  // only the round holds it now
  EXPECT_FALSE(watch.expired());
  EXPECT_TRUE(testing::await_round(sync, 0));
  EXPECT_EQ(sync.stats().commands, 2u);
  EXPECT_EQ(sync.stats().round_trips, 1u);
  EXPECT_EQ(kept->pool(kGlobal, 0), 100);  // Redis took the tokens from the bucket: spendable
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace sluice::limiter
