// One cluster's discovery: its source, the UpdateGuard its answers go through, what it
// counts for /metrics and /clusters, and the log lines of its state changes (first set, an
// update held or confirmed, stale and recovered; one line per change, not per answer). When
// the set the cluster should run changes it calls `changed`; the control plane coalesces and
// publishes. Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/discovery/source.hpp"
#include "proxy/control/discovery/update_guard.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

// What the metrics and the admin API show about one cluster's discovery.
struct DiscoveryStatus {
  std::string kind;         // "file", "dns", …
  std::string source;       // Source::describe()
  std::string version;      // of the set the cluster runs ("" before the first)
  bool has_set = false;     // the source has answered with a set at least once
  bool stale = false;       // the last answer was an error: the set is the last good one
  std::string last_error;   // "" when none yet
  double last_success = 0;  // unix time of the last good answer; 0: never
  uint64_t updates = 0;     // sets applied to the cluster
  uint64_t errors = 0;      // failed answers
  size_t endpoints = 0;
  size_t held_removals = 0;  // endpoints a held update would remove (0: nothing held)
  double held_since = 0;     // unix time the held update first came
};

class ClusterDiscovery : public SourceSink {
 public:
  // `source` is built by make_source and started by start().
  ClusterDiscovery(control::ControlLoop& loop, std::string cluster,
                   const config::DiscoveryGuard& guard, std::function<void()> changed);
  ~ClusterDiscovery() override;
  ClusterDiscovery(const ClusterDiscovery&) = delete;
  ClusterDiscovery& operator=(const ClusterDiscovery&) = delete;

  // Starts `source`, which reports to this object. A cluster whose source changed on reload
  // gets a new ClusterDiscovery; `previous` (the old set) is what it runs until the new
  // source first answers, so a reload never empties a cluster for a moment.
  void start(std::unique_ptr<Source> source, std::vector<DiscoveredEndpoint> previous = {});

  // The set the cluster runs now (the previous one until the source answered).
  const std::vector<DiscoveredEndpoint>& endpoints() const {
    return guard_.has_set() ? guard_.current() : previous_;
  }
  DiscoveryStatus status() const;

  void deliver(std::vector<DiscoveredEndpoint> set, std::string version) override;
  void fail(std::string why) override;

 private:
  // Acts on the guard's verdict: publish, or arm the timer that confirms a held update.
  void settle(UpdateGuard::Verdict verdict, const std::string& version);
  void arm_confirm_timer();

  control::ControlLoop& loop_;
  const std::string cluster_;
  const limiter::Nanos confirm_window_;
  std::function<void()> changed_;
  std::unique_ptr<Source> source_;
  UpdateGuard guard_;
  std::vector<DiscoveredEndpoint> previous_;
  std::string version_;       // of the applied set
  std::string held_version_;  // of the held one
  control::ControlLoop::TimerId confirm_timer_ = 0;
  uint64_t updates_ = 0;
  uint64_t errors_ = 0;
  double last_success_ = 0;
  double held_since_ = 0;             // unix time, for status()
  limiter::Nanos held_since_ns_ = 0;  // the guard's, to tell a new hold from the same again
  std::chrono::steady_clock::time_point stale_since_{};
};

}  // namespace sluice::proxy::discovery
