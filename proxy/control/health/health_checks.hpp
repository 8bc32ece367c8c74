// Active health checks of every cluster's endpoints, on the control loop: what the snapshot
// builder asks "is this endpoint passing its check?".
//
// One checker per unique target, a target being (address, check spec): clusters that share
// an endpoint and an equal spec share one probe stream and one verdict. A target's state
// lives as long as some cluster still lists it, so reloads and discovery updates that keep it
// keep its history; only new targets start `pending`. A new target's first probe runs at a
// random point of [0, min(interval, 1 s)) (many endpoints added at once do not fire at once),
// then every interval +- jitter; at most `max_in_flight` probes run at once and the rest
// queue (first come, first served).
//
// Control thread only, like the loop it runs on. `changed(cluster)` is called, from a loop
// handler, once per cluster of a target whose verdict changed (the caller republishes its
// snapshot, coalescing as it likes); set_cluster and remove_cluster never call it, nor log.
// Both callbacks may call any member, including set_cluster and remove_cluster.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/health/health_state.hpp"
#include "proxy/control/health/probe.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::health {

// One endpoint of one cluster as /clusters and metrics show it.
struct EndpointHealth {
  bool checked = false;  // false: no active check covers it, so checks never hold it back
  HealthStatus status = HealthStatus::healthy;
  limiter::Nanos since = 0;               // when `status` began (steady clock ns)
  limiter::Nanos routable_since = 0;      // HealthState::routable_since(): slow start's origin
  std::vector<CheckResult> last_results;  // oldest first, at most HealthState::kKeptResults
  std::array<uint64_t, kOutcomeCount> checks{};  // by outcome
};

struct HealthCheckStats {
  std::array<uint64_t, kOutcomeCount> checks{};  // every probe so far, by outcome
  // [from][to] by HealthStatus: every verdict change so far.
  std::array<std::array<uint64_t, kStatusCount>, kStatusCount> transitions{};
  size_t targets = 0;
  size_t in_flight = 0;
  size_t queued = 0;
};

class HealthChecks {
 public:
  struct Options {
    size_t max_in_flight = 256;
    std::chrono::milliseconds max_first_delay{1000};
    uint64_t seed = 0;  // of the delays' randomness; 0: from std::random_device
  };
  using Changed = std::function<void(const std::string& cluster)>;
  // One line per verdict change, with its cause; `warning` for a change to unhealthy.
  using LogLine = std::function<void(bool warning, const std::string& line)>;

  HealthChecks(control::ControlLoop& loop, Changed changed, LogLine log, Options options);
  HealthChecks(control::ControlLoop& loop, Changed changed, LogLine log)
      : HealthChecks(loop, std::move(changed), std::move(log), Options{}) {}
  ~HealthChecks();
  HealthChecks(const HealthChecks&) = delete;
  HealthChecks& operator=(const HealthChecks&) = delete;

  // The cluster's check and its present endpoints, after every config load and every
  // discovery change; no spec means no checks (its targets are released). Endpoints and
  // specs it had before and still has keep their state.
  void set_cluster(const std::string& cluster, const std::optional<config::HealthCheck>& spec,
                   const std::vector<config::Address>& present);
  void remove_cluster(const std::string& cluster);
  // Call once after the set_cluster calls for the config sluice started with: endpoints
  // added before it that pass their first check are not "new" (no slow start at start-up).
  void initial_load_done() { initial_load_ = false; }

  // Unknown clusters and addresses the cluster does not check give `checked == false`.
  EndpointHealth health(const std::string& cluster, const config::Address& address) const;
  // What the snapshot builder needs per endpoint, without copying the history.
  struct Verdict {
    bool checked = false;
    HealthStatus status = HealthStatus::healthy;
    limiter::Nanos routable_since = 0;
  };
  Verdict verdict(const std::string& cluster, const config::Address& address) const;
  HealthCheckStats stats() const;

 private:
  struct Target;
  struct Checked {                               // one cluster's use of health checks
    std::map<std::string, std::string> targets;  // address_key -> target key
  };

  const Target* find(const std::string& cluster, const config::Address& address) const;
  Target& attach(const std::string& cluster, const config::HealthCheck& spec,
                 const config::Address& address, const std::string& key);
  void detach(const std::string& cluster, const std::string& key);
  void schedule(Target& target, std::chrono::milliseconds delay);
  void due(const std::string& key);
  void launch(Target& target);
  void on_result(const std::string& key, CheckResult result);
  void pump_queue();
  std::chrono::milliseconds jittered(const config::HealthCheck& spec);
  std::chrono::milliseconds first_delay(const config::HealthCheck& spec);

  control::ControlLoop& loop_;
  Changed changed_;
  LogLine log_;
  Options options_;
  std::mt19937_64 random_;
  bool initial_load_ = true;
  std::map<std::string, std::unique_ptr<Target>> targets_;  // by target key
  std::map<std::string, Checked> clusters_;
  std::deque<std::string> queue_;  // target keys waiting for a free probe slot
  HealthCheckStats stats_;
};

}  // namespace sluice::proxy::health
