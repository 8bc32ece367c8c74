// clusters: name, balancer, endpoints or discovery, circuit_breaker, limits, outlier_detection,
// pool, proxy_protocol (health_check, panic and slow_start: parse_health.cpp; tls:
// parse_upstream_tls.cpp).
#include <strings.h>

#include <cstring>

#include "config/parse_state.hpp"
#include "config/scalars.hpp"

namespace sluice::config {
namespace {

// "client_ip", "path", "header:X-User", "cookie:session", "query:user".
std::optional<HashKey> parse_hash_key(Reader& r, const Field& field) {
  auto text = r.string(field);
  if (!text) return std::nullopt;
  HashKey key;
  if (*text == "client_ip") return key;
  if (*text == "path") {
    key.source = HashKey::Source::path;
    return key;
  }
  const size_t colon = text->find(':');
  const std::string kind = text->substr(0, colon);
  const std::string name = colon == std::string::npos ? "" : text->substr(colon + 1);
  if (kind == "header")
    key.source = HashKey::Source::header;
  else if (kind == "cookie")
    key.source = HashKey::Source::cookie;
  else if (kind == "query")
    key.source = HashKey::Source::query;
  else {
    r.error(field, "expected client_ip, path, header:NAME, cookie:NAME or query:NAME, got '" +
                       *text + "'");
    return std::nullopt;
  }
  if (!is_token(name)) {
    r.error(field, "expected " + kind + ":NAME with a non-empty name, got '" + *text + "'");
    return std::nullopt;
  }
  key.name = name;
  return key;
}

Balancer parse_balancer(ParseState& state, const Field& field, const std::string& cluster) {
  Reader& r = state.reader;
  MapReader map(r, field);
  Balancer balancer;
  std::optional<BalancerType> type;
  if (auto f = map.require("type"))
    if (auto index = r.choice(
            *f, {"round_robin", "weighted_round_robin", "least_conn", "consistent_hash", "p2c"}))
      type = static_cast<BalancerType>(*index);
  if (type) balancer.type = *type;

  // Options that only one balancer type reads: using them with another type is a mistake.
  auto applies = [&](const Field& f, BalancerType owner, const char* owner_name) {
    if (type && *type != owner)
      r.error(f.key_pos(), f.path + ": applies to balancer type " + owner_name + " only");
  };
  if (auto f = map.get("load")) {
    applies(*f, BalancerType::p2c, "p2c");
    if (auto index = r.choice(*f, {"in_flight", "ewma_latency"}))
      balancer.load = static_cast<P2cLoad>(*index);
  }
  if (auto f = map.get("key")) {
    applies(*f, BalancerType::consistent_hash, "consistent_hash");
    if (auto key = parse_hash_key(r, *f)) {
      balancer.key = *key;
      if (key->source != HashKey::Source::client_ip) state.http_hash_keys.emplace(cluster, *f);
    }
  }
  if (auto f = map.get("algorithm")) {
    applies(*f, BalancerType::consistent_hash, "consistent_hash");
    if (auto index = r.choice(*f, {"ring", "maglev"}))
      balancer.algorithm = static_cast<HashAlgorithm>(*index);
  }
  if (auto f = map.get("virtual_nodes")) {
    applies(*f, BalancerType::consistent_hash, "consistent_hash");
    // Maglev sizes its lookup table itself; accepting the key would silently ignore it.
    if (balancer.algorithm == HashAlgorithm::maglev)
      r.error(f->key_pos(), f->path + ": applies to algorithm ring only");
    if (auto n = r.integer(*f, 1, 65536)) balancer.virtual_nodes = static_cast<uint32_t>(*n);
  }
  if (auto f = map.get("bounded_load")) {
    applies(*f, BalancerType::consistent_hash, "consistent_hash");
    if (auto factor = r.number(*f)) {
      // 1.0 would forbid any endpoint from being above average: nothing could be placed.
      if (*factor <= 1.0 || *factor > 100.0)
        r.error(*f, "must be greater than 1 and at most 100 (e.g. 1.25), got " + f->value.Scalar());
      else
        balancer.bounded_load = *factor;
    }
  }
  return balancer;
}

std::vector<Endpoint> parse_endpoints(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  std::vector<Endpoint> endpoints;
  std::vector<Field> where;
  auto items = r.list(field);
  if (field.value.IsSequence() && items.empty())
    r.error(field, "needs at least one endpoint (or use discovery)");
  for (const auto& item : items) {
    MapReader map(r, item);
    if (!map.valid()) continue;
    Endpoint endpoint;
    auto address_field = map.require("address");
    std::optional<Address> address;
    if (address_field) {
      // "api-1.internal:8080": resolved at run time (clusters[].dns); anything else must be
      // a literal address.
      std::optional<NamedAddress> named;
      if (address_field->value.IsScalar())
        named = parse_named_address(address_field->value.Scalar());
      if (named) {
        endpoint.host = std::move(named->host);
        endpoint.port = named->port;
        address.emplace().text = address_field->value.Scalar();
      } else {
        address = r.address(*address_field);
      }
    }
    if (auto f = map.get("weight"))
      if (auto n = r.integer(*f, 1, 65535)) endpoint.weight = static_cast<uint32_t>(*n);
    if (!address) continue;
    for (size_t i = 0; i < endpoints.size(); ++i) {
      const Address& other = endpoints[i].address;
      const bool same =
          endpoint.named()
              ? endpoints[i].named() && strcasecmp(other.text.c_str(), address->text.c_str()) == 0
              : other.length == address->length &&
                    std::memcmp(&other.storage, &address->storage, address->length) == 0;
      if (same)
        r.error(*address_field, "duplicate endpoint " + address->text + " (first at " +
                                    line_col(where[i].pos()) + ")");
    }
    endpoint.address = std::move(*address);
    endpoints.push_back(std::move(endpoint));
    where.push_back(*address_field);
  }
  return endpoints;
}

Discovery parse_discovery(ParseState& state, const Field& field, DiscoveryGuard& guard) {
  Reader& r = state.reader;
  MapReader map(r, field);
  // Exactly one source is expected; each present one is validated, the first one is kept.
  std::optional<Discovery> discovery;
  auto file = map.get("file");
  auto dns = map.get("dns");
  auto etcd = map.get("etcd");
  auto consul = map.get("consul");
  int count = 0;
  for (auto* source : {&file, &dns, &etcd, &consul}) {
    if (!*source) continue;
    if (++count == 2)
      r.error((*source)->key_pos(),
              (*source)->path + ": discovery takes one of file, dns, etcd, consul");
  }
  if (count == 0 && map.valid())
    r.error(field.pos(), field.path + ": needs one of file, dns, etcd, consul");
  if (auto f = map.get("confirm_window"))
    if (auto d = r.duration(*f)) guard.confirm_window = *d;
  if (auto f = map.get("hold_fraction")) {
    if (auto fraction = r.number(*f)) {
      if (*fraction <= 0.0 || *fraction > 1.0)
        r.error(*f, "must be greater than 0 and at most 1, got " + f->value.Scalar());
      else
        guard.hold_fraction = *fraction;
    }
  }
  if (file) {
    FileDiscovery source;
    // `file: PATH`, or `file: {path: PATH, poll_interval: 5s}`.
    auto read_path = [&](const Field& f) {
      if (auto path = r.string(f)) {
        if (path->empty()) r.error(f, "must not be empty");
        source.path = *path;
      }
    };
    if (file->value.IsMap()) {
      MapReader file_map(r, *file);
      if (auto f = file_map.require("path")) read_path(*f);
      if (auto f = file_map.get("poll_interval"))
        if (auto d = r.duration(*f)) source.poll_interval = *d;
    } else {
      read_path(*file);
    }
    if (!discovery) discovery = source;
  }
  if (dns) {
    DnsDiscovery source = parse_dns_discovery(state, *dns);
    if (!discovery) discovery = source;
  }
  if (etcd) {
    EtcdDiscovery source = parse_etcd_discovery(state, *etcd);
    if (!discovery) discovery = source;
  }
  if (consul) {
    ConsulDiscovery source = parse_consul_discovery(state, *consul);
    if (!discovery) discovery = source;
  }
  return discovery.value_or(Discovery{});
}

CircuitBreaker parse_circuit_breaker(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  CircuitBreaker breaker;
  if (auto f = map.get("consecutive_failures"))
    if (auto n = r.integer(*f, 1, 1'000'000)) breaker.consecutive_failures = static_cast<int>(*n);
  if (auto f = map.get("error_ratio")) {
    if (auto ratio = r.number(*f)) {
      if (*ratio <= 0.0 || *ratio > 1.0)
        r.error(*f, "must be greater than 0 and at most 1, got " + f->value.Scalar());
      else
        breaker.error_ratio = *ratio;
    }
  }
  if (auto f = map.get("window"))
    if (auto d = r.duration(*f)) breaker.window = *d;
  if (auto f = map.get("min_requests"))
    if (auto n = r.integer(*f, 1, 1'000'000)) breaker.min_requests = static_cast<int>(*n);
  if (auto f = map.get("open_for"))
    if (auto d = r.duration(*f)) breaker.open_for = *d;
  if (auto f = map.get("half_open_probes"))
    if (auto n = r.integer(*f, 1, 1000)) breaker.half_open_probes = static_cast<int>(*n);
  return breaker;
}

ClusterLimits parse_limits(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  ClusterLimits limits;
  constexpr int64_t kMax = 10'000'000;
  if (auto f = map.get("max_connections"))
    if (auto n = r.integer(*f, 1, kMax)) limits.max_connections = static_cast<uint32_t>(*n);
  if (auto f = map.get("max_pending"))
    if (auto n = r.integer(*f, 1, kMax)) limits.max_pending = static_cast<uint32_t>(*n);
  if (auto f = map.get("max_requests"))
    if (auto n = r.integer(*f, 1, kMax)) limits.max_requests = static_cast<uint32_t>(*n);
  return limits;
}

ConnectionPool parse_pool(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  ConnectionPool pool;
  // 0 keeps no idle connection: every request opens its own.
  if (auto f = map.get("max_idle"))
    if (auto n = r.integer(*f, 0, 100'000)) pool.max_idle = static_cast<uint32_t>(*n);
  if (auto f = map.get("idle_timeout"))
    if (auto d = r.duration(*f)) pool.idle_timeout = *d;
  return pool;
}

OutlierDetection parse_outlier_detection(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  OutlierDetection outlier;
  if (auto f = map.get("consecutive_5xx"))
    if (auto n = r.integer(*f, 1, 1000)) outlier.consecutive_5xx = static_cast<int>(*n);
  if (auto f = map.get("base_ejection"))
    if (auto d = r.duration(*f)) outlier.base_ejection = *d;
  if (auto f = map.get("max_ejected_percent"))
    if (auto n = r.integer(*f, 1, 100)) outlier.max_ejected_percent = static_cast<int>(*n);
  return outlier;
}

void parse_cluster(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  if (!map.valid()) {
    state.cluster_names_complete = false;
    return;
  }
  Cluster cluster;
  auto name = map.require("name");
  if (name)
    if (auto text = r.name(*name)) cluster.name = *text;
  if (cluster.name.empty())
    state.cluster_names_complete = false;
  else
    state.cluster_names.push_back({cluster.name, *name});

  auto balancer = map.get("balancer");
  if (balancer) cluster.balancer = parse_balancer(state, *balancer, cluster.name);
  auto endpoints = map.get("endpoints");
  if (endpoints) cluster.endpoints = parse_endpoints(state, *endpoints);
  // A ring holds virtual_nodes points per unit of weight; bound its memory (16 B a point).
  constexpr uint64_t kMaxRingPoints = 4'000'000;
  uint64_t total_weight = 0;
  for (const auto& e : cluster.endpoints) total_weight += e.weight;
  if (balancer && cluster.balancer.type == BalancerType::consistent_hash &&
      cluster.balancer.algorithm == HashAlgorithm::ring &&
      total_weight * cluster.balancer.virtual_nodes > kMaxRingPoints)
    r.error(balancer->pos(), balancer->path + ": the hash ring would need " +
                                 std::to_string(total_weight * cluster.balancer.virtual_nodes) +
                                 " points (virtual_nodes x total weight); at most 4000000");
  auto discovery = map.get("discovery");
  if (discovery) cluster.discovery = parse_discovery(state, *discovery, cluster.discovery_guard);
  if (auto f = map.get("dns")) {
    cluster.endpoint_dns = parse_endpoint_dns(state, *f);
    if (!cluster.has_named_endpoints() && !cluster.endpoints.empty())
      r.error(f->key_pos(),
              f->path + ": applies to host names in endpoints, and " + field.path + " has none");
  }
  if (endpoints && discovery)
    r.error(discovery->key_pos(),
            discovery->path + ": a cluster takes endpoints or discovery, not both");
  if (!endpoints && !discovery)
    r.error(field.pos(), field.path + ": a cluster needs endpoints or discovery");
  auto health_check = map.get("health_check");
  if (health_check) cluster.health_check = parse_health_check(state, *health_check);
  parse_panic_and_slow_start(state, map, cluster);
  if (auto f = map.get("circuit_breaker"))
    cluster.circuit_breaker = parse_circuit_breaker(state, *f);
  if (auto f = map.get("limits")) cluster.limits = parse_limits(state, *f);
  if (auto f = map.get("outlier_detection"))
    cluster.outlier_detection = parse_outlier_detection(state, *f);
  if (auto f = map.get("pool")) cluster.pool = parse_pool(state, *f);
  if (auto f = map.get("sticky_cookie")) cluster.sticky_cookie = parse_sticky_cookie(state, *f);
  if (auto f = map.get("retry_budget")) cluster.retry_budget = parse_retry_budget(state, *f);
  if (auto f = map.get("proxy_protocol"))
    cluster.proxy_protocol = parse_proxy_protocol_send(state, *f);
  if (auto f = map.get("tls")) {
    cluster.tls = parse_upstream_tls(state, *f, cluster);
    // The probes speak plain HTTP; a TCP check of a TLS cluster is still a connect.
    if (cluster.health_check && cluster.health_check->kind == HealthCheck::Kind::http)
      r.error(health_check->key_pos(), health_check->path +
                                           ": an http check of a cluster with tls is not "
                                           "supported yet (without http: it is a TCP connect)");
  }
  state.config.clusters.push_back(std::move(cluster));
}

}  // namespace

void parse_clusters(ParseState& state, const Field& field) {
  if (!field.value.IsSequence()) state.cluster_names_complete = false;
  for (const auto& item : state.reader.list(field)) parse_cluster(state, item);
}

}  // namespace sluice::config
