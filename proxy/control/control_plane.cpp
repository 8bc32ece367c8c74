#include "proxy/control/control_plane.hpp"

#include <future>
#include <thread>

#include "config/parse.hpp"
#include "proxy/core/log.hpp"

namespace sluice::proxy {
namespace {

// How long a reload waits for every worker to adopt the new snapshot. Workers
// adopt at their next loop iteration, so this is only reached when one is stuck.
constexpr auto kAdoptTimeout = std::chrono::seconds(5);

unsigned worker_count_for(const config::Config& config) {
  unsigned count = config.workers != 0 ? config.workers : std::thread::hardware_concurrency();
  return count == 0 ? 1 : count;
}

}  // namespace

ControlPlane::ControlPlane(std::string config_path, std::shared_ptr<const config::Config> config)
    : config_path_(std::move(config_path)),
      config_(std::move(config)),
      metrics_(worker_count_for(*config_)) {
  metrics_.set_build_version(SLUICE_VERSION);
}

ControlPlane::~ControlPlane() {
  for (auto& w : workers_) w->request_stop();
  workers_.clear();                      // joins
  if (access_log_) access_log_->stop();  // the last lines are written
}

std::string ControlPlane::start_access_log() {
  const config::AccessLog& cfg = config_->log.access;
  if (!cfg.enabled) return {};
  access_log::Options options;
  options.path = cfg.path;
  options.format = cfg.format == config::AccessLog::Format::text ? access_log::Format::text
                                                                 : access_log::Format::json;
  options.sample = cfg.sample;
  options.workers = worker_count_for(*config_);
  options.on_error = [](std::string_view why) {
    LOG_ERROR("access log: %.*s", static_cast<int>(why.size()), why.data());
  };
  std::string error;
  access_log_ = access_log::AccessLogWriter::start(std::move(options), error);
  return access_log_ ? std::string() : "log.access: " + error;
}

std::string ControlPlane::start() {
  std::string error;
  snapshot_ = Snapshot::build(config_, state_, metrics_, error);
  if (!snapshot_) return error;
  if (error = start_access_log(); !error.empty()) return error;
  if (config_->admin) {
    metrics_.set_endpoint_series_cap(config_->admin->max_endpoint_series);
    if (error = admin_.open(config_->admin->listen); !error.empty())
      return "admin listener " + config_->admin->listen.text + ": " + error;
    install_admin_routes();
  }
  const unsigned count = worker_count_for(*config_);
  std::vector<WorkerUpdate> updates = sockets_.prepare(snapshot_, count, error);
  if (updates.empty()) return error;
  sockets_.commit(*snapshot_);
  std::vector<std::future<std::string>> ready;
  for (unsigned i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, access_log_.get()));
    std::promise<std::string> promise;
    ready.push_back(promise.get_future());
    workers_.back()->start(std::move(updates[i]), std::move(promise));
  }
  std::string failure;
  for (auto& f : ready) {
    std::string e = f.get();
    if (!e.empty() && failure.empty()) failure = e;
  }
  if (!failure.empty()) return failure;
  started_ = true;
  metrics_.config_loaded(config_->source_hash, std::chrono::system_clock::now());
  return {};
}

std::string ControlPlane::restart_only_changes(const config::Config& next) const {
  std::string why;
  if (worker_count_for(next) != workers_.size())
    why += "workers: changing the worker count needs a restart\n";
  const std::string admin_now = config_->admin ? config_->admin->listen.text : "";
  const std::string admin_next = next.admin ? next.admin->listen.text : "";
  if (admin_now != admin_next) why += "admin.listen: changing it needs a restart\n";
  // The writer thread and its rings exist from start to exit (workers hold them).
  const config::AccessLog& now = config_->log.access;
  const config::AccessLog& then = next.log.access;
  if (now.enabled != then.enabled ||
      (now.enabled && (now.path != then.path || now.format != then.format)))
    why += "log.access: turning it on or off, or changing its path or format, needs a restart\n";
  return why;
}

std::string ControlPlane::reload() {
  std::string why = try_reload();
  if (why.empty()) {
    metrics_.reload_succeeded(config_->source_hash, std::chrono::system_clock::now());
  } else {
    metrics_.reload_failed();
  }
  return why;
}

std::string ControlPlane::try_reload() {
  if (draining_) return "draining: no reload while stopping\n";
  config::ParseResult parsed = config::parse_config_file(config_path_);
  if (!parsed.ok()) {
    std::string why;
    for (const auto& d : parsed.errors) why += d.to_string() + "\n";
    return why;
  }
  auto next = std::make_shared<const config::Config>(std::move(parsed.config));
  if (std::string why = restart_only_changes(*next); !why.empty()) return why;
  std::string error;
  auto snapshot = Snapshot::build(next, state_, metrics_, error);
  if (!snapshot) return error + "\n";
  if (error = publish(snapshot); !error.empty()) return error + "\n";
  carry_counts(*snapshot);
  config_ = std::move(next);
  snapshot_ = std::move(snapshot);
  if (config_->admin) metrics_.set_endpoint_series_cap(config_->admin->max_endpoint_series);
  log::set_level(static_cast<log::Level>(config_->log.level));
  return {};
}

std::string ControlPlane::publish(std::shared_ptr<const Snapshot> snapshot) {
  std::string error;
  std::vector<WorkerUpdate> updates =
      sockets_.prepare(snapshot, static_cast<unsigned>(workers_.size()), error);
  if (updates.empty()) return error;
  std::vector<uint64_t> expected;
  for (size_t i = 0; i < workers_.size(); ++i) {
    expected.push_back(workers_[i]->adopted() + 1);
    workers_[i]->publish(std::move(updates[i]));
  }
  sockets_.commit(*snapshot);
  const auto deadline = std::chrono::steady_clock::now() + kAdoptTimeout;
  for (size_t i = 0; i < workers_.size(); ++i) {
    while (workers_[i]->adopted() < expected[i]) {
      if (std::chrono::steady_clock::now() > deadline) {
        // Published all the same: the worker adopts it when it gets there.
        LOG_WARN("worker %zu has not adopted the new config after %lld s", i,
                 static_cast<long long>(kAdoptTimeout.count()));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return {};
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
  }
}

void ControlPlane::begin_drain() {
  if (draining_) return;
  draining_ = true;
  for (auto& w : workers_) w->request_stop();
}

bool ControlPlane::drained() const {
  for (const auto& w : workers_)
    if (!w->finished()) return false;
  return true;
}

void ControlPlane::tick() {
  state_.tick(std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::steady_clock::now().time_since_epoch())
                  .count());
}

}  // namespace sluice::proxy
