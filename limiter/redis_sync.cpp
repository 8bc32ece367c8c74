#include "limiter/redis_sync.hpp"

#include "limiter/global_keyed_script.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace sluice::limiter {
namespace {

struct FreeReply {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

}  // namespace

RedisSync::RedisSync(RedisSyncOptions options) : options_(std::move(options)) {}

RedisSync::~RedisSync() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

void RedisSync::add(std::shared_ptr<GlobalKeyedLimiter> limiter) {
  keyed_.push_back(std::move(limiter));
}

void RedisSync::remove(const GlobalKeyedLimiter* limiter) {
  std::erase_if(keyed_, [&](const auto& l) { return l.get() == limiter; });
}

void RedisSync::set_all_ok(bool ok) {
  for (auto& l : keyed_) l->set_redis_ok(ok);
}

int RedisSync::fd() const {
  return ctx_ != nullptr ? ctx_->fd : -1;
}

bool RedisSync::wants_write() const {
  return ctx_ != nullptr && (connecting_ || round_.unsent);
}

void RedisSync::tick(Nanos now) {
  if (ctx_ != nullptr) {
    // Whatever already arrived counts before the deadline is judged: the loop may run this timer
    // before the readiness it saw in the same wakeup.
    pollfd p{ctx_->fd, static_cast<short>(POLLIN | (wants_write() ? POLLOUT : 0)), 0};
    const bool ready = ::poll(&p, 1, 0) > 0;
    on_io(ready && (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0,
          ready && (p.revents & POLLOUT) != 0, now);
  }
  if (in_flight()) return;  // still within its deadline: one round at a time
  if (ctx_ == nullptr && (now < next_attempt_ || !start_connect(now))) return;
  start_round(now);
}

void RedisSync::on_io(bool readable, bool writable, Nanos now) {
  if (ctx_ != nullptr && connecting_ && (readable || writable)) finish_connect(now);
  // Output is written whenever some is pending: the socket may have become writable without the
  // caller having asked (the connect just completed), and a full socket only costs an EAGAIN.
  if (ctx_ != nullptr && !connecting_ && round_.unsent) write_out(now);
  if (ctx_ != nullptr && !connecting_ && readable) read_replies(now);
  if (ctx_ != nullptr && in_flight() && now >= round_.deadline)
    fail(now, connecting_ ? "connect timed out" : "no answer in time");
}

bool RedisSync::start_connect(Nanos now) {
  ++serial_;
  ctx_ = redisConnectNonBlock(options_.host.c_str(), options_.port);
  if (ctx_ == nullptr || ctx_->err != 0) {
    fail(now, ctx_ != nullptr ? ctx_->errstr : "out of memory");
    return false;
  }
  connecting_ = true;
  round_.deadline = now + options_.connect_timeout.count();
  if (!options_.password.empty() && !send_auth()) {
    fail(now, "cannot queue AUTH");
    return false;
  }
  return true;
}

// Queued before anything else on the new connection (hiredis writes it once the connect
// completes), so its reply is the first to come back: read_replies hands it to auth_reply.
bool RedisSync::send_auth() {
  const char* argv[3] = {"AUTH"};
  size_t argvlen[3] = {4};
  int argc = 1;
  if (!options_.username.empty()) {
    argv[argc] = options_.username.data();
    argvlen[argc++] = options_.username.size();
  }
  argv[argc] = options_.password.data();
  argvlen[argc++] = options_.password.size();
  if (redisAppendCommandArgv(ctx_, argc, argv, argvlen) != REDIS_OK) return false;
  authenticating_ = true;
  round_.unsent = true;
  return true;
}

bool RedisSync::auth_reply(const redisReply& reply, Nanos now) {
  authenticating_ = false;
  if (reply.type != REDIS_REPLY_STATUS) {
    // WRONGPASS, or a password the server has none for: either way the config is wrong, and
    // the scripts queued behind it would only get NOAUTH.
    if (!auth_refused_ && options_.on_auth)
      options_.on_auth(false, reply.type == REDIS_REPLY_ERROR ? std::string(reply.str, reply.len)
                                                              : "an unexpected reply");
    auth_refused_ = true;
    fail(now, "AUTH refused");
    return false;
  }
  if (auth_refused_ && options_.on_auth) options_.on_auth(true, {});
  auth_refused_ = false;
  if (!round_.active) set_all_ok(true);  // connected; nothing needed this round
  return true;
}

void RedisSync::finish_connect(Nanos now) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(ctx_->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    fail(now, std::strerror(err != 0 ? err : errno));
    return;
  }
  // Readiness without an error does not prove the handshake is done (the caller may pass
  // readable on a spurious wakeup); the peer address exists only once it is.
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof peer;
  if (::getpeername(ctx_->fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
    if (errno != ENOTCONN) fail(now, std::strerror(errno));
    return;
  }
  connecting_ = false;
  ++stats_.connects;
  stats_.connected = true;
  if (round_.active || authenticating_) {
    round_.deadline = now + options_.command_timeout.count();
  } else {
    set_all_ok(true);  // connected; nothing needed this round
  }
}

void RedisSync::fail(Nanos now, const char* why) {
  ++stats_.errors;
  stats_.last_error = why;
  // The keys of unanswered batches: counted in Redis if the round went out (see unanswered).
  const bool sent = round_.active && !round_.unsent && !connecting_;
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
  connecting_ = false;
  authenticating_ = false;
  for (size_t i = round_.answered; i < round_.batches.size(); ++i)
    for (const GlobalKeySync& k : round_.batches[i].keys)
      round_.batches[i].limiter->unanswered(k, sent, now);
  round_ = Round{};
  stats_.connected = false;
  backoff_ = backoff_ == 0 ? options_.backoff_min.count()
                           : std::min<Nanos>(2 * backoff_, options_.backoff_max.count());
  next_attempt_ = now + backoff_;
  set_all_ok(false);
}

void RedisSync::start_round(Nanos now) {
  if (!append_batches(now)) return;
  if (round_.batches.empty()) {
    // Connected; nothing needed this round. A connect still under way says so when it completes.
    if (!connecting_) set_all_ok(true);
    return;
  }
  round_.answered = 0;
  round_.active = true;
  round_.unsent = true;
  round_.started = now;
  if (connecting_) return;  // finish_connect starts the reply clock; on_io writes
  round_.deadline = now + options_.command_timeout.count();
  write_out(now);
}

void RedisSync::write_out(Nanos now) {
  int done = 0;
  if (redisBufferWrite(ctx_, &done) != REDIS_OK) {
    fail(now, ctx_->errstr[0] != '\0' ? ctx_->errstr : "write failed");
    return;
  }
  round_.unsent = done == 0;
}

void RedisSync::read_replies(Nanos now) {
  if (redisBufferRead(ctx_) != REDIS_OK) {  // closed by the server, reset, or a protocol error
    fail(now, ctx_->errstr[0] != '\0' ? ctx_->errstr : "connection lost");
    return;
  }
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(ctx_, &raw) != REDIS_OK) {
      fail(now, "malformed reply");
      return;
    }
    if (raw == nullptr) return;  // the rest has not arrived yet
    const std::unique_ptr<redisReply, FreeReply> reply(static_cast<redisReply*>(raw));
    if (authenticating_) {
      if (!auth_reply(*reply, now)) return;  // refused: the connection is gone
      continue;
    }
    if (!round_.active) {
      fail(now, "unexpected reply");  // nobody asked for it: the stream is out of step
      return;
    }
    apply_batch(round_.batches[round_.answered++], *reply, now);
    if (round_.answered == round_.batches.size()) complete_round(now);
  }
}

bool RedisSync::append_batches(Nanos now) {
  const std::string now_us = options_.server_time ? "" : std::to_string(now / 1000);
  for (auto& l : keyed_) {
    std::vector<GlobalKeySync> keys;
    l->collect(now, keys);
    for (size_t begin = 0; begin < keys.size(); begin += kKeysPerEval) {
      const size_t end = std::min(keys.size(), begin + kKeysPerEval);
      const std::vector<std::string> args =
          global_keys_eval(*l, keys, begin, end, options_.key_prefix, now_us);
      std::vector<const char*> argv;
      std::vector<size_t> argvlen;
      for (const std::string& a : args) {
        argv.push_back(a.data());
        argvlen.push_back(a.size());
      }
      round_.batches.push_back(
          {l, std::vector<GlobalKeySync>(keys.begin() + begin, keys.begin() + end)});
      if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(),
                                 argvlen.data()) != REDIS_OK) {
        round_.active = round_.unsent = true;  // so that fail() gives the keys' counts back
        fail(now, "cannot queue a command");
        return false;
      }
      stats_.keys_synced += end - begin;
    }
  }
  return true;
}

void RedisSync::apply_batch(const Round::KeyBatch& batch, const redisReply& reply, Nanos now) {
  ++stats_.commands;
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 * batch.keys.size()) {
    ++stats_.errors;  // script error: the connection is fine, this limiter is not
    for (const GlobalKeySync& k : batch.keys) batch.limiter->unanswered(k, false, now);
    batch.limiter->set_redis_ok(false);
    return;
  }
  auto number = [&](size_t i) {
    const redisReply* r = reply.element[i];
    return r->type == REDIS_REPLY_INTEGER ? static_cast<int64_t>(r->integer) : 0;
  };
  for (size_t i = 0; i < batch.keys.size(); ++i)
    batch.limiter->answer(batch.keys[i], number(2 * i), number(2 * i + 1), now);
  batch.limiter->set_redis_ok(true);
}

void RedisSync::complete_round(Nanos now) {
  ++stats_.round_trips;
  stats_.last_round_ns = now - round_.started;
  backoff_ = 0;
  for (auto& l : keyed_) {
    // Limiters that sent nothing this round are healthy too: the connection just worked.
    const bool asked = std::any_of(round_.batches.begin(), round_.batches.end(),
                                   [&](const auto& b) { return b.limiter.get() == l.get(); });
    if (!asked) l->set_redis_ok(true);
  }
  round_ = Round{};
}

}  // namespace sluice::limiter
