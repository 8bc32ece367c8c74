#include "proxy/control/health/health_checks.hpp"

#include <algorithm>

#include "proxy/control/health/check_identity.hpp"

namespace sluice::proxy::health {
namespace {

using Clock = control::ControlLoop::Clock;

limiter::Nanos steady_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

struct HealthChecks::Target {
  Target(std::string target_key, const config::HealthCheck& check, const config::Address& where,
         limiter::Nanos now, bool initial)
      : key(std::move(target_key)),
        spec(check),
        address(where),
        state(check.healthy, check.unhealthy, now, initial) {}

  const std::string key;           // address_key + spec_key
  const config::HealthCheck spec;  // the probe refers to it, so it never changes
  const config::Address address;
  HealthState state;
  std::set<std::string> clusters;
  control::ControlLoop::TimerId timer = 0;
  std::unique_ptr<Probe> probe;  // while one is in flight
  bool queued = false;
  Clock::time_point launched{};
};

HealthChecks::HealthChecks(control::ControlLoop& loop, Changed changed, LogLine log,
                           Options options)
    : loop_(loop),
      changed_(std::move(changed)),
      log_(std::move(log)),
      options_(options),
      random_(options.seed != 0 ? options.seed : std::random_device{}()) {}

HealthChecks::~HealthChecks() {
  for (auto& [key, target] : targets_) {
    loop_.cancel(target->timer);
    target->probe.reset();  // cancels quietly
  }
}

void HealthChecks::set_cluster(const std::string& cluster,
                               const std::optional<config::HealthCheck>& spec,
                               const std::vector<config::Address>& present) {
  if (!spec) {
    remove_cluster(cluster);
    return;
  }
  const std::string spec_text = spec_key(*spec);
  std::map<std::string, std::string> wanted;  // address_key -> target key
  for (const auto& address : present) {
    const std::string where = address_key(address);
    const std::string key = where + " " + spec_text;
    if (wanted.emplace(where, key).second) attach(cluster, *spec, address, key);
  }
  Checked& checked = clusters_[cluster];
  // Targets the cluster had and no longer has (gone, or checked with another spec now).
  for (const auto& [where, key] : checked.targets) {
    auto it = wanted.find(where);
    if (it == wanted.end() || it->second != key) detach(cluster, key);
  }
  checked.targets = std::move(wanted);
}

void HealthChecks::remove_cluster(const std::string& cluster) {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return;
  for (const auto& [where, key] : it->second.targets) detach(cluster, key);
  clusters_.erase(it);
}

HealthChecks::Target& HealthChecks::attach(const std::string& cluster,
                                           const config::HealthCheck& spec,
                                           const config::Address& address, const std::string& key) {
  auto& slot = targets_[key];
  if (!slot) {
    slot = std::make_unique<Target>(key, spec, address, steady_ns(loop_.now()), initial_load_);
    schedule(*slot, first_delay(spec));
  }
  slot->clusters.insert(cluster);
  return *slot;
}

void HealthChecks::detach(const std::string& cluster, const std::string& key) {
  auto it = targets_.find(key);
  if (it == targets_.end()) return;
  Target& target = *it->second;
  target.clusters.erase(cluster);
  if (!target.clusters.empty()) return;
  // Nobody checks this target any more: its history goes with it.
  loop_.cancel(target.timer);
  const bool was_in_flight = target.probe != nullptr;
  if (target.queued) --stats_.queued;
  target.probe.reset();
  targets_.erase(it);  // its key, if queued, finds no target and is skipped
  if (was_in_flight) {
    --stats_.in_flight;
    pump_queue();
  }
}

void HealthChecks::schedule(Target& target, std::chrono::milliseconds delay) {
  // Keys, not pointers: a target may be gone (and another made under its key) by then.
  target.timer = loop_.after(delay, [this, key = target.key] { due(key); });
}

void HealthChecks::due(const std::string& key) {
  auto it = targets_.find(key);
  if (it == targets_.end()) return;
  Target& target = *it->second;
  target.timer = 0;
  if (stats_.in_flight < options_.max_in_flight) {
    launch(target);
    return;
  }
  target.queued = true;
  ++stats_.queued;
  queue_.push_back(key);
}

void HealthChecks::pump_queue() {
  while (stats_.in_flight < options_.max_in_flight && !queue_.empty()) {
    const std::string key = std::move(queue_.front());
    queue_.pop_front();
    auto it = targets_.find(key);
    if (it == targets_.end() || !it->second->queued) continue;  // removed while waiting
    it->second->queued = false;
    --stats_.queued;
    launch(*it->second);
  }
}

void HealthChecks::launch(Target& target) {
  ++stats_.in_flight;
  target.launched = loop_.now();
  target.probe = std::make_unique<Probe>(
      loop_, target.address, target.spec,
      [this, key = target.key](CheckResult result) { on_result(key, result); });
}

void HealthChecks::on_result(const std::string& key, CheckResult result) {
  auto it = targets_.find(key);
  if (it == targets_.end()) return;  // cannot happen: a target's probe dies with it
  Target& target = *it->second;
  --stats_.in_flight;
  target.probe.reset();  // it is done and touches nothing after calling us
  ++stats_.checks[static_cast<size_t>(result.outcome)];
  std::optional<Transition> transition = target.state.record(result);

  // The next probe an interval (+- jitter) after this one began, so a slow answer does not
  // stretch the period; a probe that waited in the queue runs again soon rather than never.
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(loop_.now() - target.launched);
  schedule(target, std::max(std::chrono::milliseconds(0), jittered(target.spec) - elapsed));

  std::set<std::string> clusters = target.clusters;  // the callbacks may change the target
  std::string line;
  if (transition) {
    ++stats_
          .transitions[static_cast<size_t>(transition->from)][static_cast<size_t>(transition->to)];
    line = "health check " + describe_check(target.spec) + " of " + address_key(target.address) +
           " (cluster " + joined(clusters) + "): " + std::string(status_name(transition->from)) +
           " -> " + std::string(status_name(transition->to)) + ": " + transition->cause;
  }
  pump_queue();
  if (!transition) return;
  if (log_) log_(transition->to == HealthStatus::unhealthy, line);
  if (changed_)
    for (const auto& cluster : clusters) changed_(cluster);
}

std::chrono::milliseconds HealthChecks::jittered(const config::HealthCheck& spec) {
  const double jitter = spec.jitter_percent / 100.0;
  std::uniform_real_distribution<double> factor(1.0 - jitter, 1.0 + jitter);
  return std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(spec.interval.count()) * factor(random_)));
}

std::chrono::milliseconds HealthChecks::first_delay(const config::HealthCheck& spec) {
  const int64_t bound = std::min(spec.interval, options_.max_first_delay).count();
  if (bound <= 0) return std::chrono::milliseconds(0);
  std::uniform_int_distribution<int64_t> delay(0, bound - 1);
  return std::chrono::milliseconds(delay(random_));
}

const HealthChecks::Target* HealthChecks::find(const std::string& cluster,
                                               const config::Address& address) const {
  auto checked = clusters_.find(cluster);
  if (checked == clusters_.end()) return nullptr;
  auto key = checked->second.targets.find(address_key(address));
  if (key == checked->second.targets.end()) return nullptr;
  auto target = targets_.find(key->second);
  return target == targets_.end() ? nullptr : target->second.get();
}

HealthChecks::Verdict HealthChecks::verdict(const std::string& cluster,
                                            const config::Address& address) const {
  const Target* target = find(cluster, address);
  if (target == nullptr) return {};
  return {true, target->state.status(), target->state.routable_since()};
}

EndpointHealth HealthChecks::health(const std::string& cluster,
                                    const config::Address& address) const {
  EndpointHealth out;
  const Target* target = find(cluster, address);
  if (target == nullptr) return out;
  const HealthState& state = target->state;
  out.checked = true;
  out.status = state.status();
  out.since = state.since();
  out.routable_since = state.routable_since();
  out.last_results.assign(state.last_results().begin(), state.last_results().end());
  out.checks = state.checks();
  return out;
}

HealthCheckStats HealthChecks::stats() const {
  HealthCheckStats out = stats_;
  out.targets = targets_.size();
  return out;
}

}  // namespace sluice::proxy::health
