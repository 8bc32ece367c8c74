// The control thread's state: the running config and snapshot, the state and
// stats that outlive snapshots, the workers, the access log writer and the
// admin listener, and the operations the control loop and the admin API
// trigger (reload, drain, scrape). Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/access_log/writer.hpp"
#include "proxy/control/admin/admin_server.hpp"
#include "proxy/control/listener_sockets.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/worker/snapshot.hpp"
#include "proxy/control/state_store.hpp"
#include "proxy/worker/worker.hpp"

namespace sluice::proxy {

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

  ControlPlane(std::string config_path, std::shared_ptr<const config::Config> config);
  ~ControlPlane();  // stops and joins the workers
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Builds the first snapshot, opens the access log and the admin listener,
  // and starts the workers; "" or why it failed.
  std::string start();
  // Re-reads the config file and, when it is valid, makes every worker run it
  // (new connections; running ones finish on the old one). Returns "" or every
  // reason the running config stays.
  std::string reload();
  // Stop accepting, let in-flight work finish (up to the drain timeout).
  void begin_drain();
  bool draining() const { return draining_; }
  // Every worker has finished draining.
  bool drained() const;
  // Listeners bound, config loaded, not draining.
  bool ready() const { return started_ && !draining_; }

  // The control loop's timer (Redis sync of global limits).
  void tick();
  std::chrono::milliseconds tick_interval() const { return state_.tick_interval(); }
  // Waits up to `timeout` for admin requests (served here) and `signal_fd`;
  // true when `signal_fd` is readable.
  bool wait(std::chrono::milliseconds timeout, int signal_fd) {
    return admin_.poll_once(timeout, signal_fd);
  }
  // SIGUSR1: logrotate moved the access log file.
  void reopen_access_log() {
    if (access_log_) access_log_->reopen();
  }
  // The Prometheus text exposition of everything.
  std::string metrics_text();

  const std::shared_ptr<const config::Config>& config() const { return config_; }
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  const StateStore& state() const { return state_; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }

 private:
  std::string try_reload();
  // Publishes `snapshot` to every worker and waits (bounded) until all run it.
  std::string publish(std::shared_ptr<const Snapshot> snapshot);
  // What a reload cannot change without a restart; "" when nothing such changed.
  std::string restart_only_changes(const config::Config& next) const;
  std::string start_access_log();
  // Before `next` replaces the running snapshot: a cluster whose breaker or
  // outlier detector is replaced (new settings, new endpoint list) hands its
  // counts to carried_, so its Prometheus counters never go back.
  void carry_counts(const Snapshot& next);
  // The admin API's routes (admin_routes.cpp).
  void install_admin_routes();

  std::string config_path_;
  std::shared_ptr<const config::Config> config_;
  std::shared_ptr<const Snapshot> snapshot_;
  StateStore state_;
  metrics::Registry metrics_;
  std::unique_ptr<access_log::AccessLogWriter> access_log_;
  admin::AdminServer admin_;
  std::map<std::string, Carried> carried_;  // per cluster name
  ListenerSockets sockets_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool started_ = false;
  bool draining_ = false;
};

}  // namespace sluice::proxy
