// The admin API: what each path of the admin listener answers. Handlers run on
// the control thread inside the control loop and return at once; POST /reload
// answers once the workers adopted the new config (route_async). Who may call them (Host,
// Origin, X-Sluice-Admin on POST) is the admin server's business: admin/admin_guard.hpp.
#include <string>
#include <vector>

#include "config/to_json.hpp"
#include "proxy/control/admin/cluster_view.hpp"
#include "proxy/control/admin/clusters_json.hpp"
#include "proxy/control/control_plane.hpp"
#include "proxy/control/process_usage.hpp"
#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"
#include "proxy/metrics/exposition.hpp"

namespace sluice::proxy {
namespace {

admin::AdminResponse json(std::string body) {
  admin::AdminResponse r;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

}  // namespace

admin::AdminResponse ControlPlane::status_response() const {
  admin::AdminResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body = admin::render_status_page(status_page());
  // The page needs nothing but its own inline style: no script may run, nothing may be
  // fetched, no other site may frame it, whatever a config string held.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

// What /metrics reports per cluster beyond the workers' counters: breaker and
// outlier state, and per endpoint its weight, ejection and in-flight count.
std::vector<metrics::ClusterStatus> ControlPlane::cluster_statuses() const {
  const int64_t now = clock::monotonic_ns();
  std::vector<metrics::ClusterStatus> out;
  out.reserve(snapshot_->clusters.size());
  for (const ClusterRuntime& c : snapshot_->clusters) {
    // The reading /clusters and the status page show (admin/cluster_view.hpp).
    const admin::ClusterView view = admin::read_cluster(c, now);
    metrics::ClusterStatus& s = out.emplace_back();
    s.name = view.name;
    s.breaker = view.breaker;
    if (view.outliers) s.outlier_ejections = view.outliers->ejections;
    if (auto it = carried_.find(s.name); it != carried_.end()) {
      // Counts of the breaker/detector a reload replaced, so counters go on.
      if (s.breaker) ControlPlane::Carried::add_counts(*s.breaker, it->second.breaker);
      if (s.outlier_ejections) *s.outlier_ejections += it->second.ejections;
    }
    if (auto d = discoveries_.status(s.name)) {
      s.discovery =
          metrics::DiscoveryStatus{d->kind,   d->stale,     d->last_success,     d->updates,
                                   d->errors, d->endpoints, d->held_removals > 0};
    }
    s.panic = overlay_.panic(s.name);
    for (const admin::EndpointView& e : view.endpoints)
      s.endpoints.push_back({e.address, e.weight, e.healthy(), e.ejected, e.in_flight,
                             e.connect_failures, e.connect_error});
  }
  return out;
}

void ControlPlane::set_health_metrics() {
  const health::HealthCheckStats stats = health_.stats();
  std::vector<std::pair<std::string, uint64_t>> checks, transitions;
  if (stats.targets > 0 || stats.checks[0] > 0) {
    for (size_t i = 0; i < health::kOutcomeCount; ++i)
      checks.emplace_back(health::outcome_name(static_cast<health::Outcome>(i)), stats.checks[i]);
    for (size_t to = 0; to < health::kStatusCount; ++to) {
      uint64_t n = 0;
      for (size_t from = 0; from < health::kStatusCount; ++from) n += stats.transitions[from][to];
      transitions.emplace_back(health::status_name(static_cast<health::HealthStatus>(to)), n);
    }
  }
  metrics_.set_health_checks(std::move(checks), std::move(transitions));
}

std::string ControlPlane::metrics_text() {
  if (access_log_)
    metrics_.set_access_log_counts(access_log_->lines_written(), access_log_->lines_dropped());
  metrics_.set_process_usage(read_process_usage());
  set_health_metrics();
  metrics_.set_redis_up(redis_ ? std::optional<bool>(redis_->up().value_or(false)) : std::nullopt);
  if (const limiter::RedisSync* sync = state_.redis()) {
    const limiter::RedisSyncStats& s = sync->stats();
    metrics_.set_redis_sync(metrics::RedisSyncFigures{s.round_trips, s.errors, s.keys_synced,
                                                      double(s.last_round_ns) / 1e9});
  }
  for (const RateLimitRuntime& r : snapshot_->rate_limits)
    if (r.global) r.stats->global_keys.store(int64_t(r.global->keys()), std::memory_order_relaxed);
  const std::vector<metrics::ClusterStatus> clusters = cluster_statuses();
  return metrics::render(metrics_, clusters);
}

void ControlPlane::install_admin_routes() {
  // The running config's, so a reload (POST or SIGHUP) that changes them applies at once.
  admin_.allow_hosts([this] {
    return config_->admin ? config_->admin->allowed_hosts : std::vector<std::string>{};
  });
  // The status page's rates need readings from before the page is asked for.
  traffic_.start(loop_, [this] { return admin::read_traffic(metrics_, *snapshot_); });
  admin_.route("GET", "/", [this](const admin::AdminRequest&) { return status_response(); });
  admin_.route("GET", "/status", [this](const admin::AdminRequest&) { return status_response(); });
  admin_.route("GET", "/live",
               [](const admin::AdminRequest&) { return admin::text_response(200, "live\n"); });
  admin_.route("GET", "/ready", [this](const admin::AdminRequest&) {
    if (ready()) return admin::text_response(200, "ready\n");
    return admin::text_response(503, draining_ ? "draining\n" : "starting\n");
  });
  admin_.route("GET", "/metrics", [this](const admin::AdminRequest&) {
    admin::AdminResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_text();
    return r;
  });
  admin_.route("GET", "/config",
               [this](const admin::AdminRequest&) { return json(config::to_json(*config_)); });
  admin_.route("GET", "/clusters", [this](const admin::AdminRequest&) {
    return json(admin::clusters_json(
        *snapshot_, clock::monotonic_ns(),
        [this](const std::string& c) { return discoveries_.json(c); },
        [this](const std::string& c, const config::Address& a) { return overlay_.json(c, a); }));
  });
  // Answered once every worker runs the new config, so a client that reloads
  // and then sends traffic sees the new config; the loop goes on meanwhile.
  admin_.route_async(
      "POST", "/reload", [this](const admin::AdminRequest& request, admin::AdminReply reply) {
        if (request.query == "dry_run=1" || request.query == "dry_run=true") {
          // The plan only: nothing is applied, so the answer is at once.
          std::string errors;
          const std::string plan = reload_plan(errors);
          reply(errors.empty() ? admin::text_response(200, "dry run: nothing applied\n" + plan)
                               : admin::text_response(400, errors));
          return;
        }
        reload([this, reply = std::move(reply)](const std::string& why) {
          if (why.empty()) {
            LOG_INFO("POST /reload: configuration reloaded");
            std::string body = "reloaded\n";
            for (const std::string& line : restart_pending())
              body += "restart pending: " + line + "\n";
            reply(admin::text_response(200, body));
            return;
          }
          LOG_ERROR("POST /reload: reload failed; keeping the running config:\n%s", why.c_str());
          reply(admin::text_response(400, why));
        });
      });
  admin_.route("POST", "/drain", [this](const admin::AdminRequest&) {
    if (!draining_) LOG_INFO("POST /drain: draining");
    begin_drain();
    return admin::text_response(202, "draining\n");
  });
}

}  // namespace sluice::proxy
