// Drives the Redis sync of global rate limits from the control loop: a round
// every sync interval, and the sync's socket watched for the replies (and for
// writability while a connect or a large round is pending). Nothing here
// blocks. Says when Redis becomes unreachable and reachable again, one line per
// change and a reminder every minute while it lasts, never one per attempt.
// Control thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "limiter/redis_sync.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy {

class RedisDriver {
 public:
  // `address`: as the config writes it, for the log.
  RedisDriver(control::ControlLoop& loop, limiter::RedisSync& sync,
              std::chrono::milliseconds interval, std::string address);
  ~RedisDriver();
  RedisDriver(const RedisDriver&) = delete;
  RedisDriver& operator=(const RedisDriver&) = delete;

  // Whether Redis answers: none before the first connect succeeded or failed.
  std::optional<bool> up() const;

  static constexpr std::chrono::seconds kReminder{60};

 private:
  void tick();
  void on_io(uint32_t events);
  // Watches the sync's current socket with the interest it has now.
  void refresh();
  // Logs a change of reachability (or a reminder while down), from the sync's stats.
  void observe_health();

  control::ControlLoop& loop_;
  limiter::RedisSync& sync_;
  control::ControlLoop::TimerId timer_ = 0;
  int watched_fd_ = -1;
  uint64_t watched_serial_ = 0;
  bool watched_write_ = false;

  std::string address_;
  enum class Health { unknown, up, down } health_ = Health::unknown;
  control::ControlLoop::Clock::time_point down_since_{};
  control::ControlLoop::Clock::time_point reminded_{};
  uint64_t errors_seen_ = 0;     // the sync's error count when last observed
  uint64_t errors_at_down_ = 0;  // ... when it went down
};

}  // namespace sluice::proxy
