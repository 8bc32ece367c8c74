#include "proxy/control/control_plane.hpp"

#include <future>
#include <thread>

#include "proxy/control/snapshot_builder.hpp"
#include "proxy/core/log.hpp"

namespace sluice::proxy {

namespace {

// Where the health and limiter logs' lines go: the process log.
void log_line(log::Level level, const std::string& line) {
  if (log::enabled(level)) log::write(level, "%s", line.c_str());
}

}  // namespace

unsigned worker_count_for(const config::Config& config) {
  unsigned count = config.workers != 0 ? config.workers : std::thread::hardware_concurrency();
  return count == 0 ? 1 : count;
}

ControlPlane::ControlPlane(control::ControlLoop& loop, std::string config_path,
                           std::shared_ptr<const config::Config> config)
    : loop_(loop),
      config_path_(std::move(config_path)),
      config_(std::move(config)),
      metrics_(worker_count_for(*config_)),
      admin_(loop),
      health_log_(log_line),
      limiter_log_(log_line),
      discoveries_(loop, [this] { schedule_publish(); }),
      health_(
          loop, [this](const std::string&) { schedule_publish(); },
          [](bool warning, const std::string& line) {
            log_line(warning ? log::Level::warn : log::Level::info, "health: " + line);
          }),
      overlay_(discoveries_, health_) {
  metrics_.set_build_version(SLUICE_VERSION);
}

ControlPlane::~ControlPlane() {
  loop_.cancel(health_timer_);
  loop_.cancel(publish_timer_);
  loop_.cancel(ramp_timer_);
  redis_.reset();
  for (auto& p : pending_) loop_.cancel(p.second.timeout);
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
  // Sources start first: a file source has its set before the first snapshot is built, and
  // the others get a moment to answer before the listeners open.
  std::string error = discoveries_.reconcile(*config_);
  if (!error.empty()) return error;
  await_first_answers();
  snapshot_ = build_snapshot(config_, state_, metrics_, error, members(*config_));
  if (!snapshot_) return error;
  overlay_.initial_load_done();
  arm_ramp_timer();
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
    // Workers tell the loop when they adopted a snapshot or finished draining.
    workers_.push_back(std::make_unique<Worker>(i, access_log_.get(), [this] {
      loop_.post_from_any_thread([this] { on_worker_event(); });
    }));
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
  for (const std::string& line : discoveries_.take_published_changes())
    LOG_INFO("discovery: %s", line.c_str());
  drive_redis();
  health_timer_ = loop_.every(std::chrono::seconds(1), [this] { observe_health(); });
  watch_tls_files();
  metrics_.config_loaded(config_->source_hash, std::chrono::system_clock::now());
  return {};
}

void ControlPlane::watch_tls_files() {
  if (!tls_watch_)
    tls_watch_ = std::make_unique<TlsFileWatch>(
        loop_, [this] { return state_.tls.files_changed(*config_); },
        [this] { schedule_publish(); });
  tls_watch_->watch(tls::ContextStore::files(*config_));
}

void ControlPlane::await_first_answers() {
  // Like Envoy's cluster warming: a cluster fed by DNS, etcd or Consul is empty until its
  // source first answers, which takes milliseconds; opening the listeners before would answer
  // 503 meanwhile. An error counts as an answer (nothing to wait for), and the wait is
  // bounded: a source still silent then leaves its cluster empty until it answers.
  constexpr auto kMaxWait = std::chrono::seconds(5);
  const auto deadline = std::chrono::steady_clock::now() + kMaxWait;
  while (!discoveries_.all_answered()) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds(0)) break;
    loop_.run_once(left);
  }
  std::vector<std::string> waiting;
  if (!discoveries_.all_answered(&waiting))
    for (const std::string& w : waiting)
      LOG_WARN(
          "discovery: cluster %s has not answered after %lld s: starting without its "
          "endpoints",
          w.c_str(), static_cast<long long>(kMaxWait.count()));
}

void ControlPlane::observe_health() {
  const auto now = HealthLog::Clock::now();
  health_log_.observe(cluster_statuses(), now);
  std::vector<LimiterLog::Policy> policies;
  for (const auto& r : metrics_.live().rate_limits) {
    LimiterLog::Policy& p = policies.emplace_back();
    p.name = r->name;
    for (unsigned w = 0; w < r->per_worker.size(); ++w) {
      p.on_error_admitted += r->per_worker.at(w).on_error_admitted.value();
      p.on_error_limited += r->per_worker.at(w).on_error_limited.value();
    }
  }
  limiter_log_.observe(policies, redis_ ? redis_->up() : std::nullopt, now);
}

void ControlPlane::begin_drain() {
  if (draining_) return;
  draining_ = true;
  for (auto& w : workers_) w->request_stop();
  // A stopping worker adopts nothing more: what was published stays published.
  while (!pending_.empty()) finish_reload(pending_.begin()->first, false);
}

void ControlPlane::drive_redis() {
  if (redis_ || state_.redis() == nullptr) return;
  redis_ = std::make_unique<RedisDriver>(loop_, *state_.redis(), state_.sync_interval(),
                                         config_->redis ? config_->redis->address.text : "");
}

bool ControlPlane::drained() const {
  for (const auto& w : workers_)
    if (!w->finished()) return false;
  return true;
}

}  // namespace sluice::proxy
