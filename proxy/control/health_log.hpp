// Turns the state of breakers, outlier detection and connects into log lines an operator
// sees at the default level: one line per change (a breaker opening, going half-open,
// closing; an endpoint ejected or back; an endpoint's connects starting to fail, with the
// error, or working again), with its cause, and a reminder every kReminder while something
// stays broken, never one line per request. Connect failures are states, not counts: one
// that fails and recovers between two looks goes unreported (the counters have it). Fed once a
// second with what /metrics reports (metrics::ClusterStatus); counts are compared as well as
// states, so a breaker that opened and closed between two looks is still reported. Control thread
// only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>

#include "proxy/core/log.hpp"
#include "proxy/metrics/exposition.hpp"

namespace sluice::proxy {

class HealthLog {
 public:
  using Clock = std::chrono::steady_clock;
  using Sink = std::function<void(log::Level, const std::string&)>;
  static constexpr std::chrono::seconds kReminder{60};

  // `sink` gets each line (the process passes them to the log; tests keep them).
  explicit HealthLog(Sink sink) : sink_(std::move(sink)) {}

  void observe(std::span<const metrics::ClusterStatus> clusters, Clock::time_point now);

 private:
  struct Seen {
    limiter::CircuitBreakerStats breaker;  // the counts when last looked at
    std::set<std::string> ejected;         // endpoint addresses
    std::set<std::string> failing;         // endpoint addresses whose connects fail
  };
  void observe_breaker(const metrics::ClusterStatus& c, Seen& seen);
  void observe_ejections(const metrics::ClusterStatus& c, Seen& seen);
  void observe_connects(const metrics::ClusterStatus& c, Seen& seen);
  void remind(std::span<const metrics::ClusterStatus> clusters, Clock::time_point now);

  Sink sink_;
  std::map<std::string, Seen> seen_;  // per cluster name
  Clock::time_point reminded_{};
  bool first_ = true;
};

}  // namespace sluice::proxy
