// Test helper: drives a RedisSync the way the control loop will — tick() on the timer, then
// poll(2) on fd() (writable too while wants_write()) and on_io() on readiness — until the
// round settles. Fake time stands still meanwhile (`now` is the tick's), so only command and
// connect timeouts on a later tick() can fail a round; the wall-clock bound just keeps a broken
// sync from hanging the test.
#pragma once

#include <poll.h>

#include <cerrno>
#include <chrono>

#include "limiter/redis_sync.hpp"

namespace sluice::limiter::testing {

// Polls until no connect or round is in flight (true) or `bound` passed (false).
inline bool await_round(RedisSync& sync, Nanos now,
                        std::chrono::milliseconds bound = std::chrono::seconds(2)) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (sync.in_flight()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || sync.fd() < 0) return false;
    // The fd may change between calls (reconnect): read it afresh every time, as the loop will.
    pollfd p{sync.fd(), static_cast<short>(POLLIN | (sync.wants_write() ? POLLOUT : 0)), 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return false;
    if (n <= 0) continue;
    sync.on_io((p.revents & (POLLIN | POLLERR | POLLHUP)) != 0, (p.revents & POLLOUT) != 0, now);
  }
  return true;
}

// One timer tick and the I/O it starts.
inline bool tick_and_await(RedisSync& sync, Nanos now,
                           std::chrono::milliseconds bound = std::chrono::seconds(2)) {
  sync.tick(now);
  return await_round(sync, now, bound);
}

}  // namespace sluice::limiter::testing
