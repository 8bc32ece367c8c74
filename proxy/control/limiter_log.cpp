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
    // A policy seen for the first time starts from zero: decisions made before the first
    // look (Redis not answered yet at start) count as a change.
    Seen s = seen_.contains(p.name) ? seen_[p.name] : Seen{};
    const bool moved = p.on_error_admitted != s.admitted || p.on_error_limited != s.limited;
    const std::string who = "rate limit '" + p.name + "': ";
    if (moved && !s.deciding) {
      s.deciding = true;
      sink_(log::Level::warn,
            who + "Redis cannot be asked (down, or not answered yet); on_error decides: " +
                counts(p.on_error_admitted - s.admitted, p.on_error_limited - s.limited) +
                " so far");
      s.since_admitted = p.on_error_admitted;
      s.since_limited = p.on_error_limited;
      s.reminded = now;
    } else if (s.deciding && !moved && redis_up.value_or(false)) {
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
