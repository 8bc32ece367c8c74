// Request and error rates for the status page. The counters only ever grow (they are what
// /metrics exports), so a rate needs two readings: the control loop reads the totals once a
// second and keeps the last kSamples readings; a rate is the difference between the oldest
// and the newest one kept, over the seconds between them.
//
// Threads: the control thread only. read_traffic reads the workers' slots with relaxed loads
// (a total may be a few increments behind, never torn).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "proxy/control/loop/control_loop.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/worker/snapshot.hpp"

namespace sluice::proxy::admin {

struct TrafficCounts {
  uint64_t requests = 0;
  uint64_t errors = 0;  // 5xx among them
};

struct TrafficTotals {
  // HTTP responses sluice sent to clients (sluice_http_requests_total, every route together).
  TrafficCounts http;
  // Per cluster: requests sent to its endpoints (HTTP) or connections relayed (TCP), and the
  // 5xx responses they gave (sluice_upstream_requests_total, sluice_upstream_responses_total).
  std::map<std::string, TrafficCounts> clusters;
};

// Sums the counters behind those series: every live route of `registry` (routes of a replaced
// snapshot that still drain included) and every cluster of `snapshot`.
TrafficTotals read_traffic(const metrics::Registry& registry, const Snapshot& snapshot);

struct TrafficRate {
  double per_second = 0;
  double errors_per_second = 0;
};

// The change from `from` to `to` per second. A counter that went back (its stats object was
// dropped by a reload and came back new) counts as starting again from zero.
TrafficRate rate_between(const TrafficCounts& from, const TrafficCounts& to, double seconds);

class TrafficHistory {
 public:
  using Clock = control::ControlLoop::Clock;
  static constexpr size_t kSamples = 11;  // ten one-second intervals
  static constexpr std::chrono::seconds kPeriod{1};

  TrafficHistory() = default;
  ~TrafficHistory() { stop(); }
  TrafficHistory(const TrafficHistory&) = delete;
  TrafficHistory& operator=(const TrafficHistory&) = delete;

  // Takes a reading now and then every kPeriod on `loop` (which must outlive this object or
  // its stop()) until stop().
  void start(control::ControlLoop& loop, std::function<TrafficTotals()> read);
  void stop();

  // One reading; the oldest goes once kSamples are kept. start()'s timer calls it.
  void add(Clock::time_point at, TrafficTotals totals);

  // The oldest and the newest reading kept and the seconds between them; nullopt until two
  // readings exist. The pointers are valid until the next add().
  struct Interval {
    const TrafficTotals* from;
    const TrafficTotals* to;
    double seconds;
  };
  std::optional<Interval> interval() const;

 private:
  struct Sample {
    Clock::time_point at;
    TrafficTotals totals;
  };
  std::deque<Sample> samples_;
  control::ControlLoop* loop_ = nullptr;
  control::ControlLoop::TimerId timer_ = 0;
};

}  // namespace sluice::proxy::admin
