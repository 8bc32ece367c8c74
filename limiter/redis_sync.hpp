// The control-thread side of global rate limits: one hiredis connection that, every
// sync_interval, syncs every registered GlobalKeyedLimiter with the counters and token buckets
// kept in Redis, all in one pipelined round: the keys each limiter decided lately, a few hundred
// per EVAL of an atomic Lua script (global_keyed_script.hpp). A round with no such key sends
// nothing.
//
// Nothing here blocks: the control thread runs one event loop for everything slow, so a slow or
// silent Redis must cost it nothing. The connection is a non-blocking hiredis context whose
// socket the caller's loop watches; RedisSync never waits on it:
//   - tick(now), from the loop's timer every sync_interval (and once at startup): starts a
//     connect when there is none and the backoff has passed; when connected and idle, appends one
//     pipelined round and writes what the socket takes. It judges deadlines but never waits.
//   - fd() / wants_write(): what to watch. Re-read both after every tick() and on_io(): a failure
//     closes the socket and a reconnect opens another, possibly under the same number, which
//     connection_serial() tells apart. Watch level-triggered (poll(2) semantics): each on_io()
//     reads or writes one buffer's worth.
//   - on_io(readable, writable, now), when the fd is ready: finishes the connect, writes pending
//     output and applies replies as they arrive.
// tick() also looks at the socket itself (a zero-timeout poll) before judging a round late, so
// replies already delivered are never counted as a timeout because the loop ran the timer first.
//
// Failure handling: a connect that fails or has not completed within connect_timeout, a round
// whose replies are not all in command_timeout after it went out (or after its connect
// completed), and a broken connection all mark every limiter `redis_ok = false` (their on_error
// policy applies, see global_keyed_limiter.hpp), count in stats().errors, close the connection and
// retry after an exponential backoff (backoff_min doubling to backoff_max, reset on a completed
// round). Workers never wait on any of this.
//
// `host` must be numeric (as config::parse_address guarantees): hiredis would resolve a name
// with a blocking getaddrinfo. hiredis writes with write(2): the process must ignore SIGPIPE, as
// sluice does, or a Redis that just died would kill it.
//
// Thread safety: a RedisSync belongs to the one control thread: every member from there.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "limiter/decision.hpp"
#include "limiter/global_keyed_limiter.hpp"

struct redisContext;
struct redisReply;

namespace sluice::limiter {

struct RedisSyncOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string key_prefix = "sluice:rl:";
  std::chrono::nanoseconds connect_timeout = std::chrono::milliseconds(100);
  std::chrono::nanoseconds command_timeout = std::chrono::milliseconds(100);
  std::chrono::nanoseconds backoff_min = std::chrono::milliseconds(50);
  std::chrono::nanoseconds backoff_max = std::chrono::seconds(5);
  // true: the Lua script uses Redis' clock (TIME), so instances need no common clock — use this
  // in production. false: it uses the `now` passed to tick() (tests on a fake timeline).
  bool server_time = true;
  // AUTH, queued first on every new connection when `password` is not empty: `AUTH username
  // password` (Redis 6 ACL) with a username, the legacy `AUTH password` without. Until its reply
  // the connection counts as in flight; a refusal fails it like any error (backoff, redis_ok
  // false, so on_error applies).
  std::string username;
  std::string password;
  // Told when AUTH starts being refused (ok false, with Redis' error) and when it is accepted
  // again, not on every attempt: a wrong password retried every backoff must not flood the log.
  std::function<void(bool ok, const std::string& detail)> on_auth;
};

struct RedisSyncStats {
  uint64_t round_trips = 0;  // pipelined exchanges that completed
  uint64_t commands = 0;     // scripts run (one per batch of keys)
  uint64_t errors = 0;       // failed connects + failed exchanges + script errors
  uint64_t connects = 0;     // successful connects
  uint64_t keys_synced = 0;  // per-key entries of GlobalKeyedLimiters sent (one per key a round)
  Nanos last_round_ns = 0;   // how long the last completed round took, from its send to its end
  bool connected = false;
  std::string last_error;  // why the last connection or exchange failed ("" before any)
};

class RedisSync {
 public:
  explicit RedisSync(RedisSyncOptions options);
  ~RedisSync();  // closes fd()
  RedisSync(const RedisSync&) = delete;
  RedisSync& operator=(const RedisSync&) = delete;

  // Every round sends the keys each limiter decided since the last (collect), a few hundred per
  // EVAL (global_keyed_script.hpp), and hands each key Redis' answer.
  void add(std::shared_ptr<GlobalKeyedLimiter> limiter);
  void remove(const GlobalKeyedLimiter* limiter);

  // A reload's `redis.timeout`: from the next connect or round on (one in flight keeps its own).
  void set_timeout(std::chrono::nanoseconds timeout) {
    options_.connect_timeout = options_.command_timeout = timeout;
  }

  // One sync round. Call every sync_interval from the control thread's timer; never blocks.
  void tick(Nanos now);

  // The socket to watch (always for readability), or -1 when there is no connection.
  int fd() const;
  // Also watch for writability: a connect or output is pending.
  bool wants_write() const;
  // The loop saw fd() ready. Pass readable = true on error or hangup too.
  void on_io(bool readable, bool writable, Nanos now);
  // Bumped on every connect attempt: a new socket even when fd() returns the same number.
  uint64_t connection_serial() const { return serial_; }
  // A connect, its AUTH or a round is outstanding (until its replies are in or it failed).
  bool in_flight() const { return connecting_ || authenticating_ || round_.active; }

  const RedisSyncStats& stats() const { return stats_; }

 private:
  struct Round {
    // One command per batch of keys of a limiter, in command order: replies come back in the
    // same order. Owned, so a limiter removed meanwhile still gets the tokens Redis already took
    // from the bucket.
    struct KeyBatch {
      std::shared_ptr<GlobalKeyedLimiter> limiter;
      std::vector<GlobalKeySync> keys;
    };
    std::vector<KeyBatch> batches;
    size_t answered = 0;
    Nanos started = 0;
    bool active = false;
    bool unsent = false;  // part of its commands is still in hiredis' output buffer
    Nanos deadline = 0;   // of the connect while connecting_, then of the replies
  };

  bool start_connect(Nanos now);
  void finish_connect(Nanos now);
  void start_round(Nanos now);
  void write_out(Nanos now);
  void read_replies(Nanos now);
  void apply_batch(const Round::KeyBatch& batch, const redisReply& reply, Nanos now);
  bool append_batches(Nanos now);
  // Every limiter learns whether Redis answers.
  void set_all_ok(bool ok);
  void complete_round(Nanos now);
  // Drops the connection and backs off; `why` is kept in stats().last_error.
  void fail(Nanos now, const char* why);
  bool send_auth();
  bool auth_reply(const redisReply& reply, Nanos now);

  RedisSyncOptions options_;
  std::vector<std::shared_ptr<GlobalKeyedLimiter>> keyed_;
  redisContext* ctx_ = nullptr;
  bool connecting_ = false;
  bool authenticating_ = false;  // AUTH sent on this connection, its reply not read yet
  bool auth_refused_ = false;    // the last AUTH reply was a refusal (on_auth was told)
  Round round_;
  Nanos next_attempt_ = 0;
  Nanos backoff_ = 0;
  uint64_t serial_ = 0;
  RedisSyncStats stats_;
};

}  // namespace sluice::limiter
