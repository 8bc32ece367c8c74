#include "proxy/control/limiter_log.hpp"

namespace sluice::proxy {
namespace {

std::string counts(uint64_t admitted, uint64_t limited) {
  return std::to_string(admitted) + " admitted without a global count (failing open), " +
         std::to_string(limited) + " refused (failing closed)";
}

}  // namespace

void LimiterLog::observe(std::span<const Policy> policies, std::optional<bool> redis_up,
                         Clock::time_point now) {
  std::map<std::string, Seen> next;
  for (const Policy& p : policies) {
    // A policy seen for the first time starts from zero, so decisions made before the first
    // look count once Redis is known to be down.
    Seen s = seen_.contains(p.name) ? seen_[p.name] : Seen{};
    if (!redis_up) {
      // Redis has not answered or failed yet: on_error decides the first requests of every
      // start (a sync interval or so), which is no news. Counted once it is known.
      next[p.name] = s;
      continue;
    }
    const bool moved = p.on_error_admitted != s.admitted || p.on_error_limited != s.limited;
    const std::string who = "rate limit '" + p.name + "': ";
    if (moved && !s.deciding && !*redis_up) {
      s.deciding = true;
      sink_(log::Level::warn,
            who + "Redis cannot be asked; on_error decides: " +
                counts(p.on_error_admitted - s.admitted, p.on_error_limited - s.limited) +
                " so far");
      s.since_admitted = p.on_error_admitted;
      s.since_limited = p.on_error_limited;
      s.reminded = now;
    } else if (s.deciding && !moved && *redis_up) {
      s.deciding = false;
      sink_(log::Level::info, who + "Redis answers; counting globally again (on_error decided " +
                                  counts(p.on_error_admitted - s.since_admitted,
                                         p.on_error_limited - s.since_limited) +
                                  " since the last report)");
    } else if (s.deciding && now - s.reminded >= kReminder) {
      sink_(log::Level::warn, who + "on_error still decides: " +
                                  counts(p.on_error_admitted - s.since_admitted,
                                         p.on_error_limited - s.since_limited) +
                                  " in the last minute");
      s.since_admitted = p.on_error_admitted;
      s.since_limited = p.on_error_limited;
      s.reminded = now;
    }
    s.admitted = p.on_error_admitted;
    s.limited = p.on_error_limited;
    next[p.name] = s;
  }
  seen_ = std::move(next);  // a policy a reload removed is forgotten
}

}  // namespace sluice::proxy
