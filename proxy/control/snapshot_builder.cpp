#include "proxy/worker/snapshot.hpp"

#include <algorithm>

#include "balancers/registry.hpp"
#include "config/to_json.hpp"
#include "proxy/l7/request_key.hpp"

namespace sluice::proxy {
namespace {

balancers::Options balancer_options(const config::Balancer& b) {
  balancers::Options o;
  o.load = b.load == config::P2cLoad::ewma_latency ? balancers::P2cLoad::ewma_latency
                                                   : balancers::P2cLoad::in_flight;
  o.algorithm = b.algorithm == config::HashAlgorithm::maglev ? balancers::HashAlgorithm::maglev
                                                             : balancers::HashAlgorithm::ring;
  o.virtual_nodes = b.virtual_nodes;
  o.bounded_load = b.bounded_load;
  return o;
}

// Builds one cluster's balancer and load view; returns an error message or "".
std::string build_cluster(ClusterRuntime& c, LoadRegistry& loads) {
  const config::Cluster& cfg = *c.config;
  std::vector<balancers::Endpoint> endpoints;
  for (const auto& e : cfg.endpoints) {
    endpoints.push_back({e.address.text, e.weight});
    c.loads.push_back(loads.endpoint(cfg.name, e.address.text));
    c.load_pointers.push_back(c.loads.back().get());
  }
  const balancers::Options options = balancer_options(cfg.balancer);
  balancers::BuildResult built =
      balancers::make_balancer(config::balancer_type_name(cfg.balancer.type), endpoints, options);
  if (!built.ok()) return "cluster " + cfg.name + ": " + built.error;
  c.balancer = std::move(built.balancer);
  c.needs_key = cfg.balancer.type == config::BalancerType::consistent_hash;
  c.tracks_load = cfg.balancer.type == config::BalancerType::least_conn ||
                  cfg.balancer.type == config::BalancerType::p2c ||
                  cfg.balancer.bounded_load.has_value();
  c.tracks_latency = cfg.balancer.type == config::BalancerType::p2c &&
                     cfg.balancer.load == config::P2cLoad::ewma_latency;
  c.ewma_tau_ns = options.ewma_tau_ns;
  if (cfg.balancer.bounded_load) c.total = loads.total(cfg.name);
  return {};
}

RateLimitRuntime build_rate_limit(const config::RateLimit& limit, const config::Config& config,
                                  StateStore& state) {
  RateLimitRuntime r;
  r.config = &limit;
  if (limit.scope == config::RateLimit::Scope::global && config.redis) {
    r.global = state.global_limit(limit, *config.redis);
  } else {
    r.local = state.local_limit(limit);
  }
  const long window_s = std::max<long>(1, static_cast<long>(limit.rate.per.count() / 1000));
  r.policy = "\"" + limit.name + "\";q=" + std::to_string(limit.rate.count) +
             ";w=" + std::to_string(window_s);
  return r;
}

}  // namespace

std::shared_ptr<const Snapshot> Snapshot::build(std::shared_ptr<const config::Config> config,
                                                StateStore& state, metrics::Registry& metrics,
                                                std::string& error) {
  auto snap = std::make_shared<Snapshot>();
  snap->config = config;
  snap->clusters.reserve(config->clusters.size());  // listeners point into it
  for (const auto& c : config->clusters) {
    ClusterRuntime& runtime = snap->clusters.emplace_back();
    runtime.config = &c;
    runtime.index = snap->clusters.size() - 1;
    error = build_cluster(runtime, state.loads);
    if (!error.empty()) return nullptr;
    runtime.breaker = state.breaker(c);
    runtime.limits = state.limits(c);
    runtime.outliers = state.outliers(c);
    runtime.stats = metrics.cluster(c.name);
  }
  snap->rate_limits.reserve(config->rate_limits.size());
  for (const auto& r : config->rate_limits) {
    snap->rate_limits.push_back(build_rate_limit(r, *config, state));
    snap->rate_limits.back().stats = metrics.rate_limit(r.name);
  }
  auto find = [&](const std::string& name) -> const ClusterRuntime* {
    for (const auto& c : snap->clusters)
      if (c.config->name == name) return &c;
    return nullptr;
  };
  auto find_limit = [&](const std::string& name) -> const RateLimitRuntime* {
    for (const auto& r : snap->rate_limits)
      if (r.config->name == name) return &r;
    return nullptr;
  };
  for (const auto& l : config->listeners) {
    ListenerRuntime lr;
    lr.config = &l;
    lr.cluster = find(l.cluster);
    lr.rate_limit = find_limit(l.rate_limit);
    const bool http = l.protocol == config::Protocol::http;
    lr.stats = metrics.listener(l.name, http ? "http" : "tcp");
    for (const auto& r : l.routes) {
      lr.route_clusters.push_back(find(r.cluster));
      lr.route_rate_limits.push_back(find_limit(r.rate_limit));
      lr.route_keys.push_back(route_key(l.name, r.name));
      lr.route_stats.push_back(metrics.route(l.name, r.name, r.cluster));
    }
    if (http) lr.unrouted_stats = metrics.route(l.name, "", "");
    snap->listeners.push_back(std::move(lr));
  }
  return snap;
}

}  // namespace sluice::proxy
