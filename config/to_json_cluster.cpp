// The clusters part of GET /config (to_json.hpp): balancer, discovery, health checks and
// the resilience settings of each cluster.
#include <boost/json.hpp>

#include "config/to_json.hpp"
#include "config/to_json_parts.hpp"

namespace sluice::config {
namespace json_parts {
namespace {

namespace json = boost::json;

std::string hash_key_text(const HashKey& key) {
  switch (key.source) {
    case HashKey::Source::client_ip:
      return "client_ip";
    case HashKey::Source::path:
      return "path";
    case HashKey::Source::header:
      return "header:" + key.name;
    case HashKey::Source::cookie:
      return "cookie:" + key.name;
    case HashKey::Source::query:
      return "query:" + key.name;
  }
  return "client_ip";
}

json::object balancer_json(const Balancer& b) {
  const bool hash = b.type == BalancerType::consistent_hash;
  const bool ring = hash && b.algorithm == HashAlgorithm::ring;
  json::value load = nullptr;
  if (b.type == BalancerType::p2c)
    load = b.load == P2cLoad::in_flight ? "in_flight" : "ewma_latency";
  json::value bounded = nullptr;
  if (hash && b.bounded_load) bounded = *b.bounded_load;
  return {{"type", balancer_type_name(b.type)},
          {"load", std::move(load)},
          {"key", hash ? json::value(hash_key_text(b.key)) : json::value(nullptr)},
          {"algorithm", hash ? json::value(b.algorithm == HashAlgorithm::ring ? "ring" : "maglev")
                             : json::value(nullptr)},
          {"virtual_nodes", ring ? json::value(b.virtual_nodes) : json::value(nullptr)},
          {"bounded_load", std::move(bounded)}};
}

// What both kinds of DNS settings share: resolvers, TTL clamps, timeout.
json::object dns_resolution_json(const DnsDiscovery& dns) {
  json::value resolvers = nullptr;  // the system's
  if (!dns.resolvers.empty()) {
    json::array list;
    for (const auto& a : dns.resolvers) list.emplace_back(a.text);
    resolvers = std::move(list);
  }
  return {{"resolvers", std::move(resolvers)},
          {"min_ttl", format_duration(dns.min_ttl)},
          {"max_ttl", format_duration(dns.max_ttl)},
          {"negative_ttl", format_duration(dns.negative_ttl)},
          {"timeout", format_duration(dns.timeout)}};
}

// clusters[].dns: null unless some endpoint names a host.
json::value endpoint_dns_json(const Cluster& c) {
  if (!c.has_named_endpoints()) return nullptr;
  json::object out{{"type", c.endpoint_dns.type}};
  for (auto& [key, value] : dns_resolution_json(c.endpoint_dns)) out[key] = value;
  return out;
}

json::value discovery_source_json(const std::optional<Discovery>& d) {
  if (const auto* file = std::get_if<FileDiscovery>(&*d))
    return json::object{
        {"file", json::object{{"path", file->path},
                              {"poll_interval", format_duration(file->poll_interval)}}}};
  if (const auto* dns = std::get_if<DnsDiscovery>(&*d)) {
    json::object out{{"name", dns->name}, {"type", dns->type}, {"port", unless_zero(dns->port)}};
    for (auto& [key, value] : dns_resolution_json(*dns)) out[key] = value;
    return json::object{{"dns", std::move(out)}};
  }
  if (const auto* consul = std::get_if<ConsulDiscovery>(&*d)) {
    const auto unless_empty = [](const std::string& s) {
      return s.empty() ? json::value(nullptr) : json::value(s);
    };
    return json::object{{"consul", json::object{{"address", consul->address.text},
                                                {"service", consul->service},
                                                {"tag", unless_empty(consul->tag)},
                                                {"datacenter", unless_empty(consul->datacenter)},
                                                {"wait", format_duration(consul->wait)},
                                                {"timeout", format_duration(consul->timeout)}}}};
  }
  const auto& etcd = std::get<EtcdDiscovery>(*d);
  json::array endpoints;
  for (const auto& a : etcd.endpoints) endpoints.emplace_back(a.text);
  return json::object{{"etcd", json::object{{"endpoints", std::move(endpoints)},
                                            {"prefix", etcd.prefix},
                                            {"timeout", format_duration(etcd.timeout)},
                                            {"watchdog", format_duration(etcd.watchdog)}}}};
}

json::value discovery_json(const std::optional<Discovery>& d, const DiscoveryGuard& guard) {
  if (!d) return nullptr;
  json::object out = discovery_source_json(d).as_object();
  out["confirm_window"] = format_duration(guard.confirm_window);
  out["hold_fraction"] = guard.hold_fraction;
  return out;
}

json::value health_check_json(const std::optional<HealthCheck>& h) {
  if (!h) return nullptr;
  json::value http = nullptr;
  if (h->kind == HealthCheck::Kind::http) {
    // As written: a lone status as a number, a range as "200-399".
    json::array expect;
    for (const auto& range : h->http_expect)
      expect.push_back(range.low == range.high ? json::value(range.low)
                                               : json::value(std::to_string(range.low) + "-" +
                                                             std::to_string(range.high)));
    http = json::object{
        {"path", h->http_path},
        {"host", h->http_host.empty() ? json::value(nullptr) : json::value(h->http_host)},
        {"expect", std::move(expect)}};
  }
  return json::object{{"http", std::move(http)},
                      {"interval", format_duration(h->interval)},
                      {"timeout", format_duration(h->timeout)},
                      {"healthy", h->healthy},
                      {"unhealthy", h->unhealthy},
                      {"jitter", std::to_string(h->jitter_percent) + "%"}};
}

json::value circuit_breaker_json(const std::optional<CircuitBreaker>& b) {
  if (!b) return nullptr;
  return json::object{{"consecutive_failures", b->consecutive_failures},
                      {"error_ratio", b->error_ratio},
                      {"window", format_duration(b->window)},
                      {"min_requests", b->min_requests},
                      {"open_for", format_duration(b->open_for)},
                      {"half_open_probes", b->half_open_probes}};
}

const char* proxy_protocol_name(ProxyProtocolSend send) {
  switch (send) {
    case ProxyProtocolSend::v1:
      return "v1";
    case ProxyProtocolSend::v2:
      return "v2";
    case ProxyProtocolSend::off:
      break;
  }
  return "off";
}

json::value outlier_json(const std::optional<OutlierDetection>& o) {
  if (!o) return nullptr;
  return json::object{{"consecutive_5xx", o->consecutive_5xx},
                      {"base_ejection", format_duration(o->base_ejection)},
                      {"max_ejected_percent", o->max_ejected_percent}};
}

}  // namespace

json::value unless_zero(uint64_t value) {
  if (value == 0) return nullptr;
  return value;
}

json::object cluster_json(const Cluster& c) {
  json::array endpoints;
  for (const auto& e : c.endpoints)
    endpoints.push_back(json::object{{"address", e.address.text}, {"weight", e.weight}});
  return {{"name", c.name},
          {"balancer", balancer_json(c.balancer)},
          {"endpoints", std::move(endpoints)},
          {"dns", endpoint_dns_json(c)},
          {"discovery", discovery_json(c.discovery, c.discovery_guard)},
          {"health_check", health_check_json(c.health_check)},
          {"panic_threshold", std::to_string(c.panic.threshold_percent) + "%"},
          {"panic", c.panic.mode == Panic::Mode::route_all ? "route_all" : "fail_closed"},
          {"slow_start", c.slow_start.count() == 0 ? json::value(nullptr)
                                                   : json::value(format_duration(c.slow_start))},
          {"circuit_breaker", circuit_breaker_json(c.circuit_breaker)},
          {"limits", json::object{{"max_connections", unless_zero(c.limits.max_connections)},
                                  {"max_pending", unless_zero(c.limits.max_pending)},
                                  {"max_requests", unless_zero(c.limits.max_requests)}}},
          {"outlier_detection", outlier_json(c.outlier_detection)},
          {"pool", json::object{{"max_idle", c.pool.max_idle},
                                {"idle_timeout", format_duration(c.pool.idle_timeout)}}},
          {"sticky_cookie", sticky_cookie_json(c.sticky_cookie)},
          {"retry_budget", retry_budget_json(c.retry_budget)},
          {"proxy_protocol", proxy_protocol_name(c.proxy_protocol)},
          {"tls", upstream_tls_json(c.tls)}};
}

}  // namespace json_parts

std::string discovery_json_text(const Cluster& cluster) {
  if (!cluster.discovery && cluster.has_named_endpoints()) {
    // Host names in `endpoints`: the names (and the literal addresses beside them) and how
    // they resolve are what the control thread's source watches.
    boost::json::array endpoints;
    for (const auto& e : cluster.endpoints)
      endpoints.push_back(boost::json::object{{"address", e.address.text}, {"weight", e.weight}});
    return boost::json::serialize(boost::json::object{
        {"endpoints", std::move(endpoints)}, {"dns", json_parts::endpoint_dns_json(cluster)}});
  }
  return boost::json::serialize(
      json_parts::discovery_json(cluster.discovery, cluster.discovery_guard));
}

}  // namespace sluice::config
