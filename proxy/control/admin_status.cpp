// GET / (the status page): what it shows, read from the control plane. The clusters come from
// the reading /clusters and /metrics show (admin/cluster_view.hpp), the totals from the
// counters /metrics exports, the rates from their last ten seconds (admin/traffic_history.hpp).
#include <ctime>
#include <string>

#include "config/to_json.hpp"
#include "proxy/control/admin/status_page.hpp"
#include "proxy/control/control_plane.hpp"
#include "proxy/core/clock.hpp"

namespace sluice::proxy {
namespace {

using admin::StatusPage;

template <class Slot, class Field>
uint64_t sum(const metrics::PerWorker<Slot>& slots, Field field) {
  uint64_t total = 0;
  for (unsigned w = 0; w < slots.size(); ++w) total += field(slots.at(w)).value();
  return total;
}

std::string utc_text(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

const admin::TrafficCounts& counts_of(const admin::TrafficTotals& totals,
                                      const std::string& cluster) {
  static const admin::TrafficCounts kNone;  // a cluster a reload added since that reading
  auto it = totals.clusters.find(cluster);
  return it != totals.clusters.end() ? it->second : kNone;
}

// Totals as of now; rates between the readings of `interval`, or since start without one.
StatusPage::Traffic traffic(const admin::TrafficCounts& now, const admin::TrafficCounts& from,
                            const admin::TrafficCounts& to, double seconds) {
  const admin::TrafficRate r = admin::rate_between(from, to, seconds);
  return {now.requests, now.errors, r.per_second, r.errors_per_second};
}

StatusPage::RateLimit rate_limit(const RateLimitRuntime& r) {
  const config::RateLimit& c = *r.config;
  StatusPage::RateLimit out;
  out.name = c.name;
  constexpr const char* kAlgorithms[] = {"token bucket", "sliding window", "fixed window",
                                         "leaky bucket"};
  out.algorithm = kAlgorithms[static_cast<size_t>(c.algorithm)];
  out.scope = c.scope == config::RateLimit::Scope::local ? "local" : "global";
  out.rate = config::format_rate(c.rate);
  out.key = config::rate_limit_key_text(c.key);
  for (const config::RateLimitKey& part : c.more_keys)
    out.key += "+" + config::rate_limit_key_text(part);
  if (r.stats) {
    out.admitted = sum(
        r.stats->per_worker, [](auto& s) -> auto& { return s.admitted; });
    out.limited = sum(
        r.stats->per_worker, [](auto& s) -> auto& { return s.limited; });
  }
  return out;
}

}  // namespace

StatusPage::Process ControlPlane::status_process() const {
  using Process = StatusPage::Process;
  const metrics::ProcessInfo& info = metrics_.process();
  const std::time_t now = std::time(nullptr);
  Process p;
  p.state = !started_ ? Process::State::starting
                      : (draining_ ? Process::State::draining : Process::State::serving);
  p.version = info.version;
  p.uptime_seconds = static_cast<double>(now) - info.start_time_seconds;
  p.workers = worker_count();
  p.config_hash = config_->source_hash;
  p.reloads_succeeded = info.reloads_succeeded;
  p.reloads_failed = info.reloads_failed;
  if (redis_) {
    const std::optional<bool> up = redis_->up();
    p.redis = !up ? Process::Redis::connecting : (*up ? Process::Redis::up : Process::Redis::down);
  }
  p.generated_at = utc_text(now);
  return p;
}

StatusPage ControlPlane::status_page() const {
  StatusPage page;
  page.process = status_process();

  // Rates over the readings of the last ten seconds; before the second reading, since start
  // (which the page then says).
  const admin::TrafficTotals now = admin::read_traffic(metrics_, *snapshot_);
  const admin::TrafficTotals start;
  const std::optional<admin::TrafficHistory::Interval> interval = traffic_.interval();
  const admin::TrafficTotals& from = interval ? *interval->from : start;
  const admin::TrafficTotals& to = interval ? *interval->to : now;
  const double seconds = interval ? interval->seconds : page.process.uptime_seconds;
  page.rate_seconds = interval ? interval->seconds : 0;
  page.http = traffic(now.http, from.http, to.http, seconds);

  const int64_t now_ns = clock::monotonic_ns();
  for (const ClusterRuntime& c : snapshot_->clusters) {
    StatusPage::Cluster& out = page.clusters.emplace_back();
    out.view = admin::read_cluster(c, now_ns);
    out.traffic = traffic(counts_of(now, c.name()), counts_of(from, c.name()),
                          counts_of(to, c.name()), seconds);
    if (c.stats)
      out.connect_failures = sum(
          c.stats->per_worker, [](auto& s) -> auto& { return s.connect_failures; });
  }

  for (const auto& r : metrics_.live().routes) {
    StatusPage::Route& out = page.routes.emplace_back();
    out = {r->listener, r->route, r->cluster, 0, 0};
    const size_t k5xx = metrics::code_class_index(500);
    for (unsigned w = 0; w < r->per_worker.size(); ++w) {
      out.responses += r->per_worker.at(w).responses();
      out.errors += r->per_worker.at(w).responses_in_class(k5xx);
    }
  }
  for (const RateLimitRuntime& r : snapshot_->rate_limits)
    page.rate_limits.push_back(rate_limit(r));
  for (const ListenerRuntime& l : snapshot_->listeners) {
    StatusPage::Listener& out = page.listeners.emplace_back();
    out.name = l.config->name;
    out.protocol = l.config->protocol == config::Protocol::tcp ? "tcp" : "http";
    out.address = l.config->listen.text;
    out.tls = l.config->tls.has_value();
    if (l.stats) {
      out.open = l.stats->open.load(std::memory_order_relaxed);
      out.accepted = sum(
          l.stats->per_worker, [](auto& s) -> auto& { return s.connections; });
    }
  }
  return page;
}

}  // namespace sluice::proxy
