// Hot reload: re-reading the config file, keeping the running values of what
// cannot change without a restart (restart_only.hpp), logging what changed, publishing the new
// snapshot to every worker, and answering once each has adopted it. The control loop never waits
// for the workers: they post back when they have adopted (ControlPlane::on_worker_event).
#include <thread>

#include "config/parse.hpp"
#include "proxy/control/control_plane.hpp"
#include "proxy/control/reload_summary.hpp"
#include "proxy/control/restart_only.hpp"
#include "proxy/control/snapshot_builder.hpp"
#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"

namespace sluice::proxy {

namespace {

// How long a reload waits for every worker to adopt the new snapshot. Workers
// adopt at their next loop iteration, so this is only reached when one is stuck.
constexpr auto kAdoptTimeout = std::chrono::seconds(5);

}  // namespace

void ControlPlane::reload(ReloadDone done) {
  std::string why = apply_reload();
  if (!why.empty()) {
    metrics_.reload_failed();
    done(why);
    return;
  }
  metrics_.reload_succeeded(config_->source_hash, std::chrono::system_clock::now());
  // apply_reload queued the publication as the newest pending reload.
  pending_.rbegin()->second.done = std::move(done);
  on_worker_event();  // workers may have adopted it already
}

std::string ControlPlane::reload_plan(std::string& errors) const {
  config::ParseResult parsed = config::parse_config_file(config_path_);
  if (!parsed.ok()) {
    for (const auto& d : parsed.errors) errors += d.to_string() + "\n";
    return {};
  }
  std::string plan;
  for (const std::string& line :
       plan_reload(*config_, static_cast<unsigned>(workers_.size()), parsed.config))
    plan += line + "\n";
  return plan;
}

std::string ControlPlane::apply_reload() {
  if (draining_) return "draining: no reload while stopping\n";
  config::ParseResult parsed = config::parse_config_file(config_path_);
  if (!parsed.ok()) {
    std::string why;
    for (const auto& d : parsed.errors) why += d.to_string() + "\n";
    return why;
  }
  std::vector<std::string> restart_pending =
      keep_restart_only(*config_, static_cast<unsigned>(workers_.size()), parsed.config);
  auto next = std::make_shared<const config::Config>(std::move(parsed.config));
  std::string error = discoveries_.reconcile(*next);
  if (!error.empty()) return error;
  auto snapshot = build_snapshot(next, state_, metrics_, error, members(*next));
  std::vector<uint64_t> expected;
  if (snapshot) error = publish(snapshot, expected);
  if (!snapshot || !error.empty()) {
    discoveries_.reconcile(*config_);  // back to the running config's sources and checks
    overlay_.sync(*config_);
    return error + "\n";
  }
  arm_ramp_timer();
  // The plan, one line per change; what happened to state follows from the state store and
  // carry_counts, which know what they kept.
  const std::vector<std::string> plan =
      plan_reload(*config_, static_cast<unsigned>(workers_.size()), *next, false);
  const bool none = plan.size() == 1 && plan[0] == "no changes";
  LOG_INFO(
      "reload: config %s: %s", next->source_hash.c_str(),
      none ? "no changes"
           : (std::to_string(plan.size()) + (plan.size() == 1 ? " change" : " changes")).c_str());
  if (!none)
    for (const std::string& line : plan) LOG_INFO("reload: %s", line.c_str());
  for (const std::string& line : restart_pending) LOG_WARN("reload: %s", line.c_str());
  for (const std::string& line : discoveries_.take_published_changes())
    LOG_INFO("discovery: %s", line.c_str());
  restart_pending_ = std::move(restart_pending);
  metrics_.set_restart_pending(!restart_pending_.empty());
  // What the reload did to rate-limit state: carried over (converted to new parameters) is
  // the rule, so only that is info; a reset (new key, algorithm or scope) is worth a warning.
  for (const StateStore::LimitChange& c : state_.take_limit_changes(*next)) {
    if (c.reset) {
      LOG_WARN("reload: %s", c.text.c_str());
    } else {
      LOG_INFO("reload: %s", c.text.c_str());
    }
  }
  const uint64_t id = next_reload_++;
  PendingReload& pending = pending_[id];
  pending.expected = std::move(expected);
  pending.timeout = loop_.after(kAdoptTimeout, [this, id] { finish_reload(id, true); });
  carry_counts(*snapshot);
  config_ = std::move(next);
  snapshot_ = std::move(snapshot);
  if (config_->admin) metrics_.set_endpoint_series_cap(config_->admin->max_endpoint_series);
  log::set_level(static_cast<log::Level>(config_->log.level));
  log::set_format(config_->log.format == config::Log::Format::json ? log::Format::json
                                                                   : log::Format::text);
  drive_redis();  // the first global limit may have come with this config
  state_.tls.prune(*config_);
  watch_tls_files();
  return {};
}

std::string ControlPlane::publish(std::shared_ptr<const Snapshot> snapshot,
                                  std::vector<uint64_t>& expected) {
  std::string error;
  std::vector<WorkerUpdate> updates =
      sockets_.prepare(snapshot, static_cast<unsigned>(workers_.size()), error);
  if (updates.empty()) return error;
  // Before the workers see it, so a relay never outlives a removal unnoticed.
  mark_removed_endpoints(
      *snapshot_, *snapshot,
      std::chrono::duration_cast<std::chrono::nanoseconds>(snapshot->config->drain_timeout).count(),
      clock::monotonic_ns());
  for (size_t i = 0; i < workers_.size(); ++i) {
    expected.push_back(workers_[i]->adopted() + 1);
    workers_[i]->publish(std::move(updates[i]));
  }
  sockets_.commit(*snapshot);
  return {};
}

void ControlPlane::on_worker_event() {
  std::vector<uint64_t> adopted;
  for (auto& [key, pending] : pending_) {
    bool all = true;
    for (size_t i = 0; i < workers_.size() && all; ++i)
      all = workers_[i]->adopted() >= pending.expected[i];
    if (all) adopted.push_back(key);
  }
  for (uint64_t id : adopted) finish_reload(id, false);
}

void ControlPlane::finish_reload(uint64_t id, bool timed_out) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  PendingReload pending = std::move(it->second);
  pending_.erase(it);
  loop_.cancel(pending.timeout);
  if (timed_out) {
    // Published all the same: a stuck worker adopts it when it gets there.
    LOG_WARN("a worker has not adopted the new config after %lld s",
             static_cast<long long>(kAdoptTimeout.count()));
  }
  if (pending.done) pending.done("");
}

void ControlPlane::carry_counts(const Snapshot& next) {
  for (const ClusterRuntime& old : snapshot_->clusters) {
    const ClusterRuntime* now = nullptr;
    for (const ClusterRuntime& c : next.clusters)
      if (c.config->name == old.config->name) now = &c;
    Carried& carried = carried_[old.config->name];
    if (old.breaker && (now == nullptr || now->breaker != old.breaker))
      Carried::add_counts(carried.breaker, old.breaker->stats());
    if (old.outliers && (now == nullptr || now->outliers != old.outliers))
      carried.ejections += old.outliers->ejections();
    if (now == nullptr) continue;
    // Kept is the rule; a replaced breaker or detector starts afresh, which an operator
    // watching an open breaker needs to know.
    const char* name = old.config->name.c_str();
    if (old.breaker && now->breaker && now->breaker != old.breaker) {
      const bool was_closed = old.breaker->stats().state == limiter::BreakerState::closed;
      if (was_closed) {
        LOG_INFO("reload: cluster '%s': circuit breaker restarts closed (new settings)", name);
      } else {
        LOG_WARN("reload: cluster '%s': circuit breaker was %s and restarts closed (new settings)",
                 name,
                 old.breaker->stats().state == limiter::BreakerState::open ? "open" : "half-open");
      }
    }
    // Only worth a line when something was ejected: a discovery cluster's detector restarts
    // with every change of its endpoint list, which is no news while nothing is ejected.
    if (old.outliers && now->outliers && now->outliers != old.outliers &&
        old.outliers->ejected_count(clock::monotonic_ns()) > 0)
      LOG_INFO(
          "cluster '%s': outlier detection restarts with no endpoint ejected "
          "(new settings or endpoints)",
          name);
  }
}

}  // namespace sluice::proxy
