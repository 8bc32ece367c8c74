#include "proxy/control/snapshot_builder.hpp"

#include <algorithm>

#include "balancers/registry.hpp"
#include "config/to_json.hpp"
#include "proxy/core/log.hpp"
#include "proxy/l4/tcp_listener.hpp"
#include "proxy/l7/http_listener.hpp"
#include "proxy/l7/request_key.hpp"
#include "proxy/prelude/proxy_protocol_listener.hpp"

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

// One cluster's endpoint list, balancer and load view; an error message or "".
std::string build_cluster(ClusterRuntime& c, const std::vector<PublishedEndpoint>& endpoints,
                          EndpointRegistry& registry) {
  const config::Cluster& cfg = *c.config;
  for (const auto& p : endpoints) {
    const config::Endpoint& e = p.endpoint;
    c.endpoints.add(e.address, e.weight, registry.endpoint(cfg.name, e.address.text));
  }
  for (uint32_t i = 0; i < endpoints.size(); ++i)
    if (!endpoints[i].routable) c.endpoints.mark_unhealthy(i);
  const balancers::Options options = balancer_options(cfg.balancer);
  balancers::BuildResult built = balancers::make_balancer(
      config::balancer_type_name(cfg.balancer.type), c.endpoints.for_balancer(), options);
  if (!built.ok()) return "cluster " + cfg.name + ": " + built.error;
  c.balancer = std::move(built.balancer);
  c.needs_key = cfg.balancer.type == config::BalancerType::consistent_hash;
  c.tracks_load = cfg.balancer.type == config::BalancerType::least_conn ||
                  cfg.balancer.type == config::BalancerType::p2c ||
                  cfg.balancer.bounded_load.has_value();
  c.tracks_latency = cfg.balancer.type == config::BalancerType::p2c &&
                     cfg.balancer.load == config::P2cLoad::ewma_latency;
  c.ewma_tau_ns = options.ewma_tau_ns;
  if (cfg.balancer.bounded_load) c.total = registry.total(cfg.name);
  if (cfg.sticky_cookie)
    c.sticky = std::make_shared<const StickyTable>(*cfg.sticky_cookie, cfg.name, c.endpoints);
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

std::unique_ptr<SessionFactory> http_factory(const config::Listener& l, const Snapshot& snap,
                                             metrics::Registry& metrics) {
  auto http = std::make_unique<HttpListener>(l);
  http->rate_limit = snap.find_rate_limit(l.rate_limit);
  auto add_limits = [&](std::vector<const RateLimitRuntime*>& to, const std::string& first,
                        const std::vector<std::string>& more) {
    if (const RateLimitRuntime* limit = snap.find_rate_limit(first)) to.push_back(limit);
    for (const std::string& name : more)
      if (const RateLimitRuntime* limit = snap.find_rate_limit(name)) to.push_back(limit);
  };
  for (const auto& r : l.routes) {
    RouteRuntime& route = http->routes.emplace_back();
    route.config = &r;
    route.cluster = snap.find_cluster(r.cluster);
    route.rate_limit = snap.find_rate_limit(r.rate_limit);
    add_limits(route.limits, l.rate_limit, l.more_rate_limits);
    add_limits(route.limits, r.rate_limit, r.more_rate_limits);
    route.limit_key = route_key(l.name, r.name);
    route.stats = metrics.route(l.name, r.name, r.cluster);
    if (r.fallback) {
      route.fallback_cluster = snap.find_cluster(r.fallback->cluster);
      if (r.fallback->response)
        for (const auto& [name, value] : r.fallback->response->headers)
          route.fallback_headers += name + ": " + value + "\r\n";
    }
    std::string error;
    route.rules = std::make_shared<const rules::RouteRules>(l, r, error);
    if (!error.empty()) LOG_ERROR("route %s: %s", r.name.c_str(), error.c_str());
  }
  http->unrouted_stats = metrics.route(l.name, "", "");
  return http;
}

}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const config::Config> config,
                                               StateStore& state, metrics::Registry& metrics,
                                               std::string& error, const ClusterMembers& members) {
  auto snap = std::make_shared<Snapshot>();
  snap->config = config;
  for (const auto& c : config->clusters) {
    ClusterRuntime& runtime = snap->clusters.emplace_back();
    runtime.config = &c;
    runtime.index = snap->clusters.size() - 1;
    std::vector<PublishedEndpoint> endpoints;
    if (members) {
      endpoints = members(c);
    } else {
      // Without the control thread's sources (--validate): host names stay unresolved.
      for (const config::Endpoint& e : c.endpoints)
        if (!e.named()) endpoints.push_back({e, true});
    }
    error = build_cluster(runtime, endpoints, state.endpoints);
    if (!error.empty()) return nullptr;
    runtime.breaker = state.breaker(c);
    runtime.limits = state.limits(c);
    runtime.outliers = state.outliers(c, runtime.endpoints);
    runtime.retry_budget = state.retry_budget(c);
    runtime.stats = metrics.cluster(c.name);
    runtime.stats->tls = c.tls.has_value();
    if (c.tls) {
      runtime.tls = state.tls.contexts(c, error);
      if (!runtime.tls) return nullptr;
    }
  }
  for (const auto& r : config->rate_limits) {
    snap->rate_limits.push_back(build_rate_limit(r, *config, state));
    snap->rate_limits.back().stats = metrics.rate_limit(r.name);
  }
  for (const auto& l : config->listeners) {
    ListenerRuntime& lr = snap->listeners.emplace_back();
    lr.config = &l;
    const bool http = l.protocol == config::Protocol::http;
    lr.stats = metrics.listener(l.name, http ? "http" : "tcp");
    lr.stats->tls = l.tls.has_value();
    lr.stats->certificate_expiry.clear();
    if (l.tls) {
      lr.tls = state.tls.contexts(l, error);
      if (!lr.tls) return nullptr;
      for (const auto& e : lr.tls->expiries())
        lr.stats->certificate_expiry.emplace_back(e.certificate, e.not_after);
    }
    if (http) {
      lr.factory = http_factory(l, *snap, metrics);
    } else {
      lr.factory = std::make_unique<TcpListener>(l, *snap->find_cluster(l.cluster),
                                                 snap->find_rate_limit(l.rate_limit));
    }
    // The PROXY header comes first on the wire, so its prelude wraps the protocol's factory.
    if (l.proxy_protocol)
      lr.factory = std::make_unique<ProxyProtocolListener>(l, std::move(lr.factory));
  }
  return snap;
}

}  // namespace sluice::proxy
