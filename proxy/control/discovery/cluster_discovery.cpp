#include "proxy/control/discovery/cluster_discovery.hpp"

#include <utility>

#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"

namespace sluice::proxy::discovery {
namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

GuardOptions guard_options(const config::DiscoveryGuard& guard) {
  GuardOptions options;
  options.confirm_window =
      std::chrono::duration_cast<std::chrono::nanoseconds>(guard.confirm_window).count();
  options.hold_fraction = guard.hold_fraction;
  return options;
}

}  // namespace

ClusterDiscovery::ClusterDiscovery(control::ControlLoop& loop, std::string cluster,
                                   const config::DiscoveryGuard& guard,
                                   std::function<void()> changed)
    : loop_(loop),
      cluster_(std::move(cluster)),
      confirm_window_(guard_options(guard).confirm_window),
      changed_(std::move(changed)),
      guard_(guard_options(guard)) {}

ClusterDiscovery::~ClusterDiscovery() {
  loop_.cancel(confirm_timer_);
}

void ClusterDiscovery::start(std::unique_ptr<Source> source,
                             std::vector<DiscoveredEndpoint> previous) {
  source_ = std::move(source);
  previous_ = std::move(previous);
  source_->start();
}

void ClusterDiscovery::deliver(std::vector<DiscoveredEndpoint> set, std::string version) {
  const bool was_stale = guard_.stale();
  const bool was_held = guard_.held().has_value();
  last_success_ = unix_now();
  const UpdateGuard::Verdict verdict = guard_.offer(std::move(set), clock::monotonic_ns());
  if (was_stale) {
    const auto stale_for = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - stale_since_);
    LOG_INFO("discovery: cluster '%s': %s answers again after %lld s", cluster_.c_str(),
             source_->describe().c_str(), static_cast<long long>(stale_for.count()));
  }
  if (verdict == UpdateGuard::Verdict::unchanged && was_held && !guard_.held())
    LOG_INFO("discovery: cluster '%s': %s", cluster_.c_str(), guard_.reason().c_str());
  settle(verdict, version);
}

void ClusterDiscovery::fail(std::string why) {
  ++errors_;
  const bool was_stale = guard_.stale();
  guard_.failed(why, clock::monotonic_ns());
  if (was_stale) return;  // one line per state change, not per failed answer
  stale_since_ = std::chrono::steady_clock::now();
  if (guard_.has_set()) {
    LOG_WARN(
        "discovery: cluster '%s': %s source failed: %s; keeping the last %zu endpoints "
        "until it answers",
        cluster_.c_str(), source_->kind(), why.c_str(), guard_.current().size());
  } else {
    LOG_WARN("discovery: cluster '%s': %s source failed: %s; %s until it answers", cluster_.c_str(),
             source_->kind(), why.c_str(),
             previous_.empty() ? "no endpoints"
                               : ("keeping the " + std::to_string(previous_.size()) +
                                  " endpoints of the previous source")
                                     .c_str());
  }
}

void ClusterDiscovery::settle(UpdateGuard::Verdict verdict, const std::string& version) {
  switch (verdict) {
    case UpdateGuard::Verdict::apply:
      loop_.cancel(confirm_timer_);
      confirm_timer_ = 0;
      held_since_ = 0;
      held_since_ns_ = 0;
      if (guard_.reason() != "update" && guard_.reason() != "first set")
        LOG_WARN("discovery: cluster '%s': %s", cluster_.c_str(), guard_.reason().c_str());
      version_ = version;
      held_version_.clear();
      ++updates_;
      changed_();
      return;
    case UpdateGuard::Verdict::hold:
      if (guard_.held()->since != held_since_ns_) {  // a new hold, not the same one again
        held_since_ns_ = guard_.held()->since;
        held_since_ = unix_now();
        LOG_WARN("discovery: cluster '%s': %s %s", cluster_.c_str(), source_->describe().c_str(),
                 guard_.reason().c_str());
      }
      held_version_ = version;
      arm_confirm_timer();
      return;
    case UpdateGuard::Verdict::unchanged:
      return;
  }
}

void ClusterDiscovery::arm_confirm_timer() {
  if (confirm_timer_ != 0 || !guard_.held()) return;
  const limiter::Nanos due = guard_.held()->since + confirm_window_ - clock::monotonic_ns();
  const auto delay = std::chrono::milliseconds(due > 0 ? (due + 999'999) / 1'000'000 : 0);
  confirm_timer_ = loop_.after(delay, [this] {
    confirm_timer_ = 0;
    const UpdateGuard::Verdict verdict = guard_.tick(clock::monotonic_ns());
    if (verdict == UpdateGuard::Verdict::apply) {
      settle(verdict, held_version_);
    } else if (guard_.held()) {
      // Stale while held: not confirmed; look again once the source answers (deliver re-arms).
      if (!guard_.stale()) arm_confirm_timer();
    }
  });
}

DiscoveryStatus ClusterDiscovery::status() const {
  DiscoveryStatus s;
  s.kind = source_ ? source_->kind() : "";
  s.source = source_ ? source_->describe() : "";
  s.version = version_;
  s.has_set = guard_.has_set();
  s.stale = guard_.stale();
  s.last_error = guard_.last_error();
  s.last_success = last_success_;
  s.updates = updates_;
  s.errors = errors_;
  s.endpoints = endpoints().size();
  if (guard_.held()) {
    s.held_removals = guard_.held()->removed;
    s.held_since = held_since_;
  }
  return s;
}

}  // namespace sluice::proxy::discovery
