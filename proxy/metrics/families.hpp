// Internal to the exposition: families of series in the order they are built, and the
// builders of the process-level ones (exposition_process.cpp). Control thread only.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <deque>
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

// Build info, start time, config identity and reloads.
void add_process(Families& out, const ProcessInfo& p);
// The standard process_* series, when the caller read them.
void add_process_usage(Families& out, const ProcessInfo& p);
// sluice_redis_up, when Redis is configured.
void add_redis(Families& out, const ProcessInfo& p);
// The access log's own counters.
void add_access_log(Families& out, const ProcessInfo& p);

}  // namespace sluice::proxy::metrics
