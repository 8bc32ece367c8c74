#include "proxy/control/endpoint_overlay.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "proxy/control/health/routing_overlay.hpp"
#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"

namespace sluice::proxy {

const std::vector<config::Endpoint>& EndpointOverlay::endpoints_of(
    const config::Cluster& cluster) const {
  const std::vector<config::Endpoint>* discovered = discoveries_.endpoints(cluster.name);
  return discovered != nullptr ? *discovered : cluster.endpoints;
}

void EndpointOverlay::sync(const config::Config& config) {
  std::set<std::string> now_checked;
  for (const config::Cluster& c : config.clusters) {
    if (!c.health_check) continue;
    std::vector<config::Address> present;
    for (const config::Endpoint& e : endpoints_of(c)) present.push_back(e.address);
    health_.set_cluster(c.name, c.health_check, present);
    now_checked.insert(c.name);
  }
  for (const std::string& name : checked_)
    if (!now_checked.contains(name)) health_.remove_cluster(name);
  checked_ = std::move(now_checked);
  std::erase_if(clusters_, [&](const auto& entry) {
    return std::none_of(config.clusters.begin(), config.clusters.end(),
                        [&](const config::Cluster& c) { return c.name == entry.first; });
  });
}

void EndpointOverlay::initial_load_done() {
  initial_ = false;
  health_.initial_load_done();
}

std::vector<PublishedEndpoint> EndpointOverlay::members(const config::Cluster& cluster,
                                                        limiter::Nanos now) {
  const std::vector<config::Endpoint>& endpoints = endpoints_of(cluster);
  ClusterState& state = clusters_[cluster.name];
  // When each endpoint joined, for slow start where no active check says it.
  std::map<std::string, limiter::Nanos> joined;
  for (const config::Endpoint& e : endpoints) {
    auto it = state.joined.find(e.address.text);
    joined[e.address.text] = it != state.joined.end() ? it->second : (initial_ ? 0 : now);
  }
  state.joined = std::move(joined);

  std::vector<health::OverlayEndpoint> overlay;
  overlay.reserve(endpoints.size());
  for (const config::Endpoint& e : endpoints) {
    health::OverlayEndpoint& o = overlay.emplace_back();
    o.weight = e.weight;
    const health::HealthChecks::Verdict v = health_.verdict(cluster.name, e.address);
    o.health = v.checked ? v.status : health::HealthStatus::healthy;
    // Present since sluice started: no history to doubt it, so it takes traffic until its
    // first check (within a second) says otherwise, as HAProxy's servers start up. Only
    // endpoints added later wait for their first verdict.
    if (o.health == health::HealthStatus::pending && state.joined[e.address.text] == 0)
      o.health = health::HealthStatus::healthy;
    o.routable_since = v.checked ? v.routable_since : state.joined[e.address.text];
  }
  const health::RoutingPolicy policy = health::RoutingPolicy::of(cluster);
  const health::ClusterRouting routing = health::route_overlay(overlay, policy, state.panic, now);
  if (cluster.health_check && routing.panic() != state.panic)
    log_panic_change(cluster.name, routing.panic(), routing.healthy, routing.decided,
                     endpoints.size(), cluster);
  state.panic = routing.panic();
  state.next_change = routing.next_change;

  std::vector<PublishedEndpoint> out;
  out.reserve(endpoints.size());
  for (size_t i = 0; i < endpoints.size(); ++i) {
    PublishedEndpoint& p = out.emplace_back();
    p.endpoint = endpoints[i];
    p.routable = routing.endpoints[i].routable;
    // With a slow-start window every weight is counted in tenths, so a ramping endpoint's
    // share is exact; an endpoint out of rotation keeps its weight (balancers skip it).
    if (policy.slow_start > 0 && p.routable)
      p.endpoint.weight = std::max<uint32_t>(1, routing.endpoints[i].weight_tenths);
    else if (policy.slow_start > 0)
      p.endpoint.weight = endpoints[i].weight * 10;
  }
  return out;
}

void EndpointOverlay::log_panic_change(const std::string& cluster, bool panic, size_t healthy,
                                       size_t decided, size_t present,
                                       const config::Cluster& config) const {
  if (panic) {
    const bool route_all = config.panic.mode == config::Panic::Mode::route_all;
    LOG_WARN("cluster '%s': panic: %zu of %zu checked endpoints healthy (threshold %d%%): %s",
             cluster.c_str(), healthy, decided, config.panic.threshold_percent,
             route_all ? ("balancing over all " + std::to_string(present) + " endpoints").c_str()
                       : "routing to none (panic: fail_closed)");
  } else {
    LOG_INFO("cluster '%s': out of panic: %zu of %zu checked endpoints healthy", cluster.c_str(),
             healthy, decided);
  }
}

boost::json::value EndpointOverlay::json(const std::string& cluster,
                                         const config::Address& address) const {
  const health::EndpointHealth h = health_.health(cluster, address);
  if (!h.checked) return nullptr;
  const limiter::Nanos now = clock::monotonic_ns();  // the health checks' steady clock
  boost::json::array last;
  for (const health::CheckResult& r : h.last_results)
    last.push_back(boost::json::object{{"outcome", health::outcome_name(r.outcome)},
                                       {"reason", r.reason},
                                       {"seconds_ago", static_cast<double>(now - r.at) / 1e9}});
  boost::json::object checks;
  for (size_t i = 0; i < health::kOutcomeCount; ++i)
    checks[health::outcome_name(static_cast<health::Outcome>(i))] = h.checks[i];
  return boost::json::object{{"status", health::status_name(h.status)},
                             {"for_seconds", static_cast<double>(now - h.since) / 1e9},
                             {"last_results", std::move(last)},
                             {"checks", std::move(checks)}};
}

std::optional<bool> EndpointOverlay::panic(const std::string& cluster) const {
  if (!checked_.contains(cluster)) return std::nullopt;
  auto it = clusters_.find(cluster);
  return it != clusters_.end() && it->second.panic;
}

std::optional<limiter::Nanos> EndpointOverlay::next_change() const {
  std::optional<limiter::Nanos> earliest;
  for (const auto& [name, state] : clusters_)
    if (state.next_change && (!earliest || *state.next_change < *earliest))
      earliest = state.next_change;
  return earliest;
}

}  // namespace sluice::proxy
