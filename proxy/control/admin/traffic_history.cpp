#include "proxy/control/admin/traffic_history.hpp"

#include <utility>

namespace sluice::proxy::admin {
namespace {

constexpr size_t k5xx = metrics::code_class_index(500);

}  // namespace

TrafficTotals read_traffic(const metrics::Registry& registry, const Snapshot& snapshot) {
  TrafficTotals out;
  for (const auto& route : registry.live().routes) {
    for (unsigned w = 0; w < route->per_worker.size(); ++w) {
      const metrics::RouteCounters& slot = route->per_worker.at(w);
      out.http.requests += slot.responses();
      out.http.errors += slot.responses_in_class(k5xx);
    }
  }
  for (const ClusterRuntime& cluster : snapshot.clusters) {
    TrafficCounts& counts = out.clusters[cluster.name()];
    if (!cluster.stats) continue;
    for (unsigned w = 0; w < cluster.stats->per_worker.size(); ++w) {
      const metrics::ClusterCounters& slot = cluster.stats->per_worker.at(w);
      counts.requests += slot.requests.value();
      counts.errors += slot.responses[k5xx].value();
    }
  }
  return out;
}

TrafficRate rate_between(const TrafficCounts& from, const TrafficCounts& to, double seconds) {
  if (seconds <= 0) return {};
  auto per_second = [seconds](uint64_t a, uint64_t b) {
    return static_cast<double>(b >= a ? b - a : b) / seconds;
  };
  return {per_second(from.requests, to.requests), per_second(from.errors, to.errors)};
}

void TrafficHistory::start(control::ControlLoop& loop, std::function<TrafficTotals()> read) {
  stop();
  loop_ = &loop;
  add(Clock::now(), read());
  timer_ = loop.every(kPeriod, [this, read = std::move(read)] { add(Clock::now(), read()); });
}

void TrafficHistory::stop() {
  if (loop_ != nullptr) loop_->cancel(timer_);
  loop_ = nullptr;
  timer_ = 0;
}

void TrafficHistory::add(Clock::time_point at, TrafficTotals totals) {
  if (samples_.size() == kSamples) samples_.pop_front();
  samples_.push_back({at, std::move(totals)});
}

std::optional<TrafficHistory::Interval> TrafficHistory::interval() const {
  if (samples_.size() < 2) return std::nullopt;
  const Sample& from = samples_.front();
  const Sample& to = samples_.back();
  const double seconds = std::chrono::duration<double>(to.at - from.at).count();
  if (seconds <= 0) return std::nullopt;
  return Interval{&from.totals, &to.totals, seconds};
}

}  // namespace sluice::proxy::admin
