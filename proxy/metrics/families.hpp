// Internal to the exposition: families of series in the order they are built, and the
// builders of the process-level ones (exposition_process.cpp). Control thread only.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proxy/metrics/registry.hpp"

namespace sluice::proxy::metrics {

using Labels = std::vector<prometheus::ClientMetric::Label>;

// Families in the order they are built; empty ones are dropped at the end. A deque, so that
// a builder can hold several families it is filling at once.
class Families {
 public:
  prometheus::MetricFamily& add(std::string name, std::string help, prometheus::MetricType type) {
    return all_.emplace_back(prometheus::MetricFamily{std::move(name), std::move(help), type, {}});
  }
  std::vector<prometheus::MetricFamily> take() {
    std::vector<prometheus::MetricFamily> out;
    for (auto& f : all_) {
      if (!f.metric.empty()) out.push_back(std::move(f));
    }
    return out;
  }

 private:
  std::deque<prometheus::MetricFamily> all_;
};

inline void sample(prometheus::MetricFamily& family, Labels labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  family.metric.push_back(std::move(m));
}

// One histogram series from every worker's copy of a LatencyHistogram (`get` picks it out of
// a slot). Each bucket is read once, so the cumulative counts are monotone and _count equals
// the +Inf bucket even while workers keep observing.
template <class Slot, class Get>
prometheus::ClientMetric histogram_of(const PerWorker<Slot>& slots, Get get, Labels labels) {
  uint64_t buckets[kLatencyBuckets + 1] = {};
  uint64_t sum_ns = 0;
  for (unsigned w = 0; w < slots.size(); ++w) {
    const LatencyHistogram& h = get(slots.at(w));
    for (size_t b = 0; b <= kLatencyBuckets; ++b) buckets[b] += h.buckets[b].value();
    sum_ns += h.sum_ns.value();
  }
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= kLatencyBuckets; ++b) {
    cumulative += buckets[b];
    const double bound = b < kLatencyBuckets ? static_cast<double>(kLatencyBoundsNs[b]) / 1e9
                                             : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, bound});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(sum_ns) / 1e9;
  return m;
}

// HTTP responses to clients by method and code, and their durations (exposition_routes.cpp).
// sluice_tls_*: handshakes, failures by reason, certificate expiry (exposition_tls.cpp).
void add_tls(Families& out, const std::vector<std::shared_ptr<const ListenerStats>>& all);
// sluice_upstream_tls_*: clusters' handshakes with their endpoints (exposition_tls.cpp).
void add_upstream_tls(Families& out, const std::vector<std::shared_ptr<const ClusterStats>>& all);
void add_routes(Families& out, const std::vector<std::shared_ptr<const RouteStats>>& all);
// Discovery per cluster (exposition_discovery.cpp).
struct ClusterStatus;
void add_discovery(Families& out, const std::vector<const ClusterStatus*>& clusters);
void add_health(Families& out, const std::vector<const ClusterStatus*>& clusters,
                const ProcessInfo& p);
// Build info, start time, config identity and reloads.
void add_process(Families& out, const ProcessInfo& p);
// The standard process_* series, when the caller read them.
void add_process_usage(Families& out, const ProcessInfo& p);
// sluice_redis_up, when Redis is configured.
void add_redis(Families& out, const ProcessInfo& p);
// The access log's own counters.
void add_access_log(Families& out, const ProcessInfo& p);

}  // namespace sluice::proxy::metrics
