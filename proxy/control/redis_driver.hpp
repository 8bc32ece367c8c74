// Drives the Redis sync of global rate limits from the control loop: a round
// every sync interval, and the sync's socket watched for the replies (and for
// writability while a connect or a large round is pending). Nothing here
// blocks. Control thread only.
#pragma once

#include <cstdint>

#include "limiter/redis_sync.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy {

class RedisDriver {
 public:
  RedisDriver(control::ControlLoop& loop, limiter::RedisSync& sync,
              std::chrono::milliseconds interval);
  ~RedisDriver();
  RedisDriver(const RedisDriver&) = delete;
  RedisDriver& operator=(const RedisDriver&) = delete;

 private:
  void tick();
  void on_io(uint32_t events);
  // Watches the sync's current socket with the interest it has now.
  void refresh();

  control::ControlLoop& loop_;
  limiter::RedisSync& sync_;
  control::ControlLoop::TimerId timer_ = 0;
  int watched_fd_ = -1;
  uint64_t watched_serial_ = 0;
  bool watched_write_ = false;
};

}  // namespace sluice::proxy
