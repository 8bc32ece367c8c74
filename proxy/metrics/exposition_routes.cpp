// The client-facing HTTP series: responses by listener, route, cluster, method and exact
// code (with its class, so dashboards that sum by code_class keep working), and the request
// duration histogram next to the upstream one.
#include <prometheus/metric_type.h>

#include <map>
#include <string>
#include <utility>

#include "proxy/metrics/families.hpp"

namespace sluice::proxy::metrics {

using prometheus::MetricType;

namespace {

// Every worker's pairs of one route, merged; code 0 is never counted (pair_key clamps
// out-of-range statuses to 0, shown as "other" like the overflow).
std::map<std::pair<uint8_t, int>, uint64_t> merged_pairs(const RouteStats& r) {
  std::map<std::pair<uint8_t, int>, uint64_t> out;
  for (unsigned w = 0; w < r.per_worker.size(); ++w) {
    const RouteCounters& c = r.per_worker.at(w);
    const uint32_t n = c.used.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < n; ++i) {
      const uint8_t method = static_cast<uint8_t>(c.keys[i] >> 16);
      const int code = static_cast<int>(c.keys[i] & 0xffff);
      out[{method, code}] += c.counts[i].value();
    }
  }
  return out;
}

}  // namespace

void add_routes(Families& out, const std::vector<std::shared_ptr<const RouteStats>>& all) {
  auto& family = out.add(
      "sluice_http_requests_total",
      "HTTP responses sent to clients, by method (OTHER: any other, or unreadable), exact code "
      "and code class (count). route=\"\": no route matched; cluster=\"\": answered by sluice "
      "itself. code=\"other\": beyond the distinct codes tracked per route.",
      MetricType::Counter);
  for (const auto& r : all) {
    auto labels = [&r](uint8_t method, std::string code, size_t code_class) {
      return Labels{{"listener", r->listener}, {"route", r->route},
                    {"cluster", r->cluster},   {"method", kMethodNames[method]},
                    {"code", std::move(code)}, {"code_class", kCodeClassNames[code_class]}};
    };
    for (const auto& [pair, n] : merged_pairs(*r)) {
      const auto [method, code] = pair;
      sample(family,
             labels(method, code >= 100 && code <= 999 ? std::to_string(code) : "other",
                    code_class_index(code)),
             double(n));
    }
    for (uint8_t m = 0; m < kMethods; ++m) {
      for (size_t c = 0; c < kCodeClasses; ++c) {
        uint64_t n = 0;
        for (unsigned w = 0; w < r->per_worker.size(); ++w)
          n += r->per_worker.at(w).overflow[m][c].value();
        if (n != 0) sample(family, labels(m, "other", c), double(n));
      }
    }
  }

  auto& fallbacks =
      out.add("sluice_http_fallbacks_total",
              "Responses a route's fallback served because its cluster could not answer, by reason "
              "(circuit-open, no-endpoint, retries-exhausted, cluster-limit) (count).",
              MetricType::Counter);
  for (const auto& r : all)
    for (size_t k = 0; k < kFallbackReasons; ++k) {
      uint64_t n = 0;
      for (unsigned w = 0; w < r->per_worker.size(); ++w)
        n += r->per_worker.at(w).fallbacks[k].value();
      if (n != 0)
        sample(fallbacks,
               {{"listener", r->listener},
                {"route", r->route},
                {"cluster", r->cluster},
                {"reason", kFallbackReasonNames[k]}},
               double(n));
    }

  auto& durations =
      out.add("sluice_http_request_duration_seconds",
              "Time from a request's first byte to the last byte of its response handed to the "
              "client's socket, as the client sees it, in seconds. route=\"\": no route matched.",
              MetricType::Histogram);
  for (const auto& r : all)
    durations.metric.push_back(
        histogram_of(r->per_worker, [](const RouteCounters& c) -> auto& { return c.duration; },
                     {{"listener", r->listener}, {"route", r->route}, {"cluster", r->cluster}}));
}

}  // namespace sluice::proxy::metrics
