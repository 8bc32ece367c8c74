// The sluice_discovery_* families: per cluster with discovery, labelled with its source kind.
#include "proxy/metrics/exposition.hpp"
#include "proxy/metrics/families.hpp"

namespace sluice::proxy::metrics {

using prometheus::MetricType;

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
