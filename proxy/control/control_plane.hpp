// The control thread's state: the running config and snapshot, the state and
// stats that outlive snapshots, the workers, the access log writer and the
// admin listener, and the operations the control loop and the admin API
// trigger (reload, drain, scrape). Everything it does runs inside the control
// loop and returns at once; work that waits (workers adopting a reload, the
// Redis sync) completes from the loop later. Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/access_log/writer.hpp"
#include "proxy/control/admin/admin_server.hpp"
#include "proxy/control/admin/status_page.hpp"
#include "proxy/control/admin/traffic_history.hpp"
#include "proxy/control/discoveries.hpp"
#include "proxy/control/endpoint_overlay.hpp"
#include "proxy/control/health/health_checks.hpp"
#include "proxy/control/health_log.hpp"
#include "proxy/control/limiter_log.hpp"
#include "proxy/control/listener_sockets.hpp"
#include "proxy/control/loop/control_loop.hpp"
#include "proxy/control/redis_driver.hpp"
#include "proxy/control/snapshot_builder.hpp"
#include "proxy/control/state_store.hpp"
#include "proxy/control/tls_watch.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/worker/snapshot.hpp"
#include "proxy/worker/worker.hpp"

namespace sluice::proxy {

// How many workers `config` asks for (`workers: 0` is one per core).
unsigned worker_count_for(const config::Config& config);

class ControlPlane {
 public:
  // Counts of breakers and outlier detectors a reload replaced (carry_counts).
  struct Carried {
    limiter::CircuitBreakerStats breaker;  // counts only; `state` is unused
    uint64_t ejections = 0;

    // Adds the transition and rejection counts of `from` to `into`.
    static void add_counts(limiter::CircuitBreakerStats& into,
                           const limiter::CircuitBreakerStats& from) {
      into.opened_by_consecutive += from.opened_by_consecutive;
      into.opened_by_ratio += from.opened_by_ratio;
      into.half_opened += from.half_opened;
      into.closed += from.closed;
      into.reopened += from.reopened;
      into.rejected += from.rejected;
    }
  };
  // "" once every worker runs the new config, or every reason the running config stays.
  using ReloadDone = std::function<void(const std::string& errors)>;

  ControlPlane(control::ControlLoop& loop, std::string config_path,
               std::shared_ptr<const config::Config> config);
  ~ControlPlane();  // stops and joins the workers
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Builds the first snapshot, opens the access log and the admin listener,
  // and starts the workers; "" or why it failed.
  std::string start();
  // Re-reads the config file and, when it is valid, makes every worker run it
  // (new connections; running ones finish on the old one). `done` hears the
  // outcome from the loop: at once when the file is refused, once every
  // worker adopted the new snapshot otherwise.
  void reload(ReloadDone done);
  // What reload() would do with the config file as it is now, one line per change, without
  // doing it; "" and every error in `errors` when the file does not validate.
  std::string reload_plan(std::string& errors) const;
  // Stop accepting, let in-flight work finish (up to the drain timeout).
  void begin_drain();
  bool draining() const { return draining_; }
  // Every worker has finished draining.
  bool drained() const;
  // Listeners bound, config loaded, not draining.
  bool ready() const { return started_ && !draining_; }
  // SIGUSR1: logrotate moved the access log file.
  void reopen_access_log() {
    if (access_log_) access_log_->reopen();
  }
  // The Prometheus text exposition of everything.
  std::string metrics_text();

  const std::shared_ptr<const config::Config>& config() const { return config_; }
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  const StateStore& state() const { return state_; }
  const Discoveries& discoveries() const { return discoveries_; }
  const health::HealthChecks& health() const { return health_; }
  // The restart-only keys whose new value the last reload left waiting (restart_only.hpp).
  const std::vector<std::string>& restart_pending() const { return restart_pending_; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }

 private:
  // A reload published to the workers, answered once each adopted it.
  struct PendingReload {
    std::vector<uint64_t> expected;  // per worker: adopted() once it runs the new snapshot
    ReloadDone done;
    control::ControlLoop::TimerId timeout = 0;
  };

  // reload.cpp
  std::string apply_reload();
  std::string publish(std::shared_ptr<const Snapshot> snapshot, std::vector<uint64_t>& expected);
  // republish.cpp: a discovered set or a health verdict changed, or a slow-start step is
  // due: publish the running config with the new overlay, at once for a lone change and at
  // most every kPublishInterval in a burst.
  void schedule_publish();
  void republish();
  // What each cluster publishes now (the overlay's), for build_snapshot; after `config`'s
  // health checks were synced.
  ClusterMembers members(const config::Config& config);
  // After a snapshot was built: a slow-start ramp that runs is republished at its next step.
  void arm_ramp_timer();

  // A worker adopted something or finished: answers the reloads all adopted.
  void on_worker_event();
  void finish_reload(uint64_t id, bool timed_out);
  // Before `next` replaces the running snapshot: a cluster whose breaker or
  // outlier detector is replaced (new settings, new endpoint list) hands its
  // counts to carried_, so its Prometheus counters never go back.
  void carry_counts(const Snapshot& next);

  std::string start_access_log();
  // start(): runs the loop until every discovery source first answered (at most 5 s).
  void await_first_answers();
  // The Redis sync runs from the loop once a global limit made one.
  void drive_redis();
  // The admin API's routes (admin_routes.cpp).
  void install_admin_routes();
  // Breaker and outlier state per cluster, as /metrics and the health log see it
  // (admin_routes.cpp).
  std::vector<metrics::ClusterStatus> cluster_statuses() const;
  // The health checks' counts into the registry, before a render (admin_routes.cpp).
  void set_health_metrics();
  // What the health and limiter logs look at once a second.
  void observe_health();
  // What GET / shows (admin_status.cpp).
  admin::StatusPage status_page() const;
  admin::StatusPage::Process status_process() const;
  admin::AdminResponse status_response() const;  // admin_routes.cpp

  control::ControlLoop& loop_;
  std::string config_path_;
  std::shared_ptr<const config::Config> config_;
  std::shared_ptr<const Snapshot> snapshot_;
  StateStore state_;
  metrics::Registry metrics_;
  std::unique_ptr<access_log::AccessLogWriter> access_log_;
  admin::AdminServer admin_;
  admin::TrafficHistory traffic_;  // the status page's rates; sampled while the admin is open
  std::unique_ptr<RedisDriver> redis_;
  // Breaker and ejection changes in the log, looked at once a second.
  HealthLog health_log_;
  // Global limits deciding by on_error, looked at with the health log.
  LimiterLog limiter_log_;
  control::ControlLoop::TimerId health_timer_ = 0;
  std::map<std::string, Carried> carried_;  // per cluster name
  std::map<uint64_t, PendingReload> pending_;
  std::vector<std::string> restart_pending_;
  uint64_t next_reload_ = 1;
  ListenerSockets sockets_;
  Discoveries discoveries_;
  health::HealthChecks health_;
  EndpointOverlay overlay_;  // reads discoveries_ and health_
  // TLS certificate files: a change republishes (the ContextStore reloads what changed).
  std::unique_ptr<TlsFileWatch> tls_watch_;
  void watch_tls_files();
  control::ControlLoop::TimerId publish_timer_ = 0;
  control::ControlLoop::TimerId ramp_timer_ = 0;
  std::chrono::steady_clock::time_point last_publish_{};
  std::vector<std::unique_ptr<Worker>> workers_;
  bool started_ = false;
  bool draining_ = false;
};

}  // namespace sluice::proxy
