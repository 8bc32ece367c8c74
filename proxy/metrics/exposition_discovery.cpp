// What the control plane's discovery and health checks report: the sluice_discovery_*
// families (per cluster with discovery, labelled with its source kind), panic per cluster
// and the health checks' probe and verdict counts.
#include "proxy/metrics/exposition.hpp"
#include "proxy/metrics/families.hpp"

namespace sluice::proxy::metrics {

using prometheus::MetricType;

void add_health(Families& out, const std::vector<const ClusterStatus*>& clusters,
                const ProcessInfo& p) {
  bool any_panic = false;
  for (const ClusterStatus* c : clusters) any_panic = any_panic || c->panic.has_value();
  if (any_panic) {
    auto& panic = out.add("sluice_cluster_panic",
                          "1 while too few of the cluster's endpoints pass their health check "
                          "(below panic_threshold) and the panic mode decides, else 0.",
                          MetricType::Gauge);
    for (const ClusterStatus* c : clusters)
      if (c->panic) sample(panic, {{"cluster", c->name}}, *c->panic ? 1 : 0);
  }
  if (p.health_checks.empty()) return;
  auto& checks = out.add("sluice_health_checks_total",
                         "Active health check probes, by outcome (count).", MetricType::Counter);
  for (const auto& [outcome, n] : p.health_checks)
    sample(checks, {{"outcome", outcome}}, static_cast<double>(n));
  auto& transitions = out.add("sluice_health_transitions_total",
                              "Endpoint health verdict changes, by the state entered (count).",
                              MetricType::Counter);
  for (const auto& [to, n] : p.health_transitions)
    sample(transitions, {{"to", to}}, static_cast<double>(n));
}

void add_discovery(Families& out, const std::vector<const ClusterStatus*>& clusters) {
  bool any = false;
  for (const ClusterStatus* c : clusters) any = any || c->discovery.has_value();
  if (!any) return;
  auto& stale = out.add("sluice_discovery_stale",
                        "1 while the cluster's discovery source fails and its last good set is "
                        "kept, else 0.",
                        MetricType::Gauge);
  auto& last =
      out.add("sluice_discovery_last_success_timestamp_seconds",
              "When the discovery source last answered (unix time; 0: never).", MetricType::Gauge);
  auto& updates =
      out.add("sluice_discovery_updates_total",
              "Endpoint sets from discovery applied to the cluster (count).", MetricType::Counter);
  auto& errors = out.add("sluice_discovery_errors_total",
                         "Discovery answers that were errors (count).", MetricType::Counter);
  auto& endpoints = out.add("sluice_discovery_endpoints",
                            "Endpoints in the set discovery gives the cluster.", MetricType::Gauge);
  auto& held = out.add("sluice_discovery_update_held",
                       "1 while an update removing many endpoints waits for its confirm window.",
                       MetricType::Gauge);
  for (const ClusterStatus* c : clusters) {
    if (!c->discovery) continue;
    const DiscoveryStatus& d = *c->discovery;
    const Labels labels{{"cluster", c->name}, {"source", d.source}};
    sample(stale, labels, d.stale ? 1 : 0);
    sample(last, labels, d.last_success);
    sample(updates, labels, static_cast<double>(d.updates));
    sample(errors, labels, static_cast<double>(d.errors));
    sample(endpoints, labels, static_cast<double>(d.endpoints));
    sample(held, labels, d.held ? 1 : 0);
  }
}

}  // namespace sluice::proxy::metrics
