#include "proxy/control/health_log.hpp"

#include <cstring>
#include <string_view>

namespace sluice::proxy {
namespace {

// "3 times" for counts above one, "" otherwise: a line per kind of change, not per change.
std::string times(uint64_t n) {
  return n > 1 ? " (" + std::to_string(n) + " times since the last report)" : "";
}

}  // namespace

void HealthLog::observe(std::span<const metrics::ClusterStatus> clusters, Clock::time_point now) {
  for (const metrics::ClusterStatus& c : clusters) {
    // A cluster seen for the first time (at start, or added by a reload) is compared with a
    // fresh one: no changes, nothing ejected. So what happened before the first look counts.
    Seen& seen = seen_[c.name];
    observe_breaker(c, seen);
    observe_ejections(c, seen);
    observe_connects(c, seen);
  }
  // A cluster a reload removed is forgotten: if its name comes back, it starts afresh.
  std::erase_if(seen_, [&](const auto& entry) {
    for (const metrics::ClusterStatus& c : clusters)
      if (c.name == entry.first) return false;
    return true;
  });
  if (first_) {
    first_ = false;
    reminded_ = now;
  } else if (now - reminded_ >= kReminder) {
    reminded_ = now;
    remind(clusters, now);
  }
}

void HealthLog::observe_breaker(const metrics::ClusterStatus& c, Seen& seen) {
  if (!c.breaker) return;
  // Counts only grow: a breaker a reload replaced hands its counts on (ControlPlane::Carried).
  const limiter::CircuitBreakerStats& now = *c.breaker;
  const limiter::CircuitBreakerStats& was = seen.breaker;
  const std::string who = "cluster " + c.name + ": circuit breaker ";
  if (uint64_t n = now.opened_by_consecutive - was.opened_by_consecutive; n > 0)
    sink_(log::Level::warn, who +
                                "opened after consecutive failures; requests get 503 "
                                "circuit-open until it half-opens" +
                                times(n));
  if (uint64_t n = now.opened_by_ratio - was.opened_by_ratio; n > 0)
    sink_(log::Level::warn, who +
                                "opened: the failure ratio passed its error_ratio; requests "
                                "get 503 circuit-open until it half-opens" +
                                times(n));
  if (uint64_t n = now.half_opened - was.half_opened; n > 0)
    sink_(log::Level::info, who + "half-open: letting probe requests through" + times(n));
  if (uint64_t n = now.reopened - was.reopened; n > 0)
    sink_(log::Level::warn, who + "opened again: a probe request failed" + times(n));
  if (uint64_t n = now.closed - was.closed; n > 0)
    sink_(log::Level::info, who + "closed: the probes succeeded" + times(n));
  seen.breaker = now;
}

void HealthLog::observe_ejections(const metrics::ClusterStatus& c, Seen& seen) {
  std::set<std::string> ejected;
  for (const metrics::EndpointStatus& e : c.endpoints)
    if (e.ejected) ejected.insert(e.address);
  for (const std::string& a : ejected)
    if (!seen.ejected.contains(a))
      sink_(log::Level::warn, "cluster " + c.name + ": endpoint " + a +
                                  " ejected by outlier detection (failures in a row)");
  for (const std::string& a : seen.ejected)
    if (!ejected.contains(a))
      sink_(log::Level::info, "cluster " + c.name + ": endpoint " + a + " back from ejection");
  seen.ejected = std::move(ejected);
}

void HealthLog::observe_connects(const metrics::ClusterStatus& c, Seen& seen) {
  std::set<std::string> failing;
  for (const metrics::EndpointStatus& e : c.endpoints) {
    if (e.connect_failures == 0) continue;
    failing.insert(e.address);
    if (seen.failing.contains(e.address)) continue;
    const std::string why = e.connect_error < 0 ? std::strerror(-e.connect_error) : "failed";
    sink_(log::Level::warn, "cluster " + c.name + ": endpoint " + e.address + ": connect " + why +
                                "; passed over for 1 s, doubling to 10 s while it fails");
  }
  for (const std::string& a : seen.failing)
    if (!failing.contains(a))
      sink_(log::Level::info, "cluster " + c.name + ": endpoint " + a + ": connects again");
  seen.failing = std::move(failing);
}

void HealthLog::remind(std::span<const metrics::ClusterStatus> clusters, Clock::time_point) {
  for (const metrics::ClusterStatus& c : clusters) {
    std::string still;
    if (c.breaker && c.breaker->state != limiter::BreakerState::closed)
      still += c.breaker->state == limiter::BreakerState::open ? " circuit breaker open;"
                                                               : " circuit breaker half-open;";
    size_t ejected = 0;
    for (const metrics::EndpointStatus& e : c.endpoints) ejected += e.ejected;
    if (ejected > 0)
      still += " " + std::to_string(ejected) + " of " + std::to_string(c.endpoints.size()) +
               " endpoints ejected;";
    size_t failing = 0;
    for (const metrics::EndpointStatus& e : c.endpoints) failing += e.connect_failures > 0;
    if (failing > 0)
      still += " " + std::to_string(failing) + " of " + std::to_string(c.endpoints.size()) +
               " endpoints failing to connect;";
    if (!still.empty()) {
      still.pop_back();
      sink_(log::Level::warn, "cluster " + c.name + ": still" + still);
    }
  }
}

}  // namespace sluice::proxy
