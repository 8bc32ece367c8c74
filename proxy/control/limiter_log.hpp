// Turns global rate limits' on_error decisions into log lines at the default level: when a
// limit starts deciding by on_error because Redis is down (failing open with `allow`, closed
// with `deny`), one warning with the counts (those made before Redis first answered or
// failed are no news at start, and counted once it is known to be down); a reminder every kReminder
// while it lasts, with the counts since the last line; and one line when Redis answers
// again and the limit counts globally once more. Never a line per request. Fed once a
// second with the decision counters (sluice_rate_limit_on_error_decisions_total). Control
// thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "proxy/core/log.hpp"

namespace sluice::proxy {

class LimiterLog {
 public:
  using Clock = std::chrono::steady_clock;
  using Sink = std::function<void(log::Level, const std::string&)>;
  static constexpr std::chrono::seconds kReminder{60};

  struct Policy {
    std::string name;
    uint64_t on_error_admitted = 0;  // totals since start
    uint64_t on_error_limited = 0;
  };

  explicit LimiterLog(Sink sink) : sink_(std::move(sink)) {}

  // `redis_up`: whether the last Redis exchange worked (none: no Redis configured).
  void observe(std::span<const Policy> policies, std::optional<bool> redis_up,
               Clock::time_point now);

 private:
  struct Seen {
    uint64_t admitted = 0, limited = 0;              // totals at the last look
    bool deciding = false;                           // on_error has been deciding since `since_*`
    uint64_t since_admitted = 0, since_limited = 0;  // totals at the last line about it
    Clock::time_point reminded{};
  };

  Sink sink_;
  std::map<std::string, Seen> seen_;  // per policy name
};

}  // namespace sluice::proxy
