// Config -> JSON. One function per config struct, each writing every key of its YAML map.
#include "config/to_json.hpp"

#include <boost/json.hpp>

namespace sluice::config {
namespace {

namespace json = boost::json;

// THE way a secret is printed. Every secret field goes through here, so /config can be shared
// in a bug report without leaking where keys live or what passwords are. An unset secret stays
// null: that it is missing is useful and gives nothing away. Not a hash prefix either: a hash
// of a short token or password lets anyone holding it test guesses offline, and telling two
// configs apart is what source_hash is for.
json::value secret(const std::string& value) {
  if (value.empty()) return nullptr;
  return "<redacted>";
}

// The same for an optional value (a route's header-match value), where set-but-empty still
// means something and is redacted too.
json::value secret(const std::optional<std::string>& value) {
  if (!value) return nullptr;
  return "<redacted>";
}

json::value optional_string(const std::string& value) {
  if (value.empty()) return nullptr;
  return json::value(value);
}

// Limits written as 0 mean "none" in Config; in JSON that is null, as when the key is absent.
json::value unless_zero(uint64_t value) {
  if (value == 0) return nullptr;
  return value;
}

template <typename T>
json::value optional_string(const std::optional<T>& value) {
  if (!value) return nullptr;
  return json::value(*value);
}

json::array strings(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}

const char* protocol_name(Protocol p) {
  return p == Protocol::http ? "http" : "tcp";
}

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

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

}  // namespace

std::string rate_limit_key_text(const RateLimitKey& key) {
  switch (key.source) {
    case RateLimitKey::Source::client_ip:
      return "client_ip";
    case RateLimitKey::Source::route:
      return "route";
    case RateLimitKey::Source::global:
      return "global";
    case RateLimitKey::Source::header:
      return "header:" + key.header;
  }
  return "client_ip";
}

namespace {

json::object timeouts_json(const Timeouts& t, bool http) {
  return {{"connect", format_duration(t.connect)},
          {"request", http ? json::value(format_duration(t.request)) : json::value(nullptr)},
          {"idle", format_duration(t.idle)}};
}

// A listener's: the connection-level header and linger too (null on tcp listeners).
json::object listener_timeouts_json(const Timeouts& t, bool http) {
  json::object o = timeouts_json(t, http);
  o["header"] = http ? json::value(format_duration(t.header)) : json::value(nullptr);
  o["linger"] = http ? json::value(format_duration(t.linger)) : json::value(nullptr);
  return o;
}

json::object retries_json(const Retries& r) {
  json::array on;
  if (r.on_connect_failure) on.emplace_back("connect-failure");
  for (int status : r.on_status) on.emplace_back(status);
  return {{"attempts", r.attempts}, {"on", std::move(on)}};
}

json::value tls_json(const std::optional<Tls>& tls) {
  if (!tls) return nullptr;
  json::array certificates;
  for (const auto& c : tls->certificates)
    certificates.push_back(
        json::object{{"cert", c.cert_path}, {"key", secret(c.key_path)}, {"sni", strings(c.sni)}});
  return json::object{{"certificates", std::move(certificates)}};
}

json::object match_json(const RouteMatch& m) {
  json::array headers;
  for (const auto& h : m.headers)
    // The value may be a credential (`Authorization: Bearer ...`); the name tells which match.
    headers.push_back(json::object{{"name", h.name}, {"exact", secret(h.exact)}});
  return {{"host", optional_string(m.host)},
          {"path_exact", optional_string(m.path_exact)},
          {"path_prefix", optional_string(m.path_prefix)},
          {"methods", strings(m.methods)},
          {"headers", std::move(headers)}};
}

json::object route_json(const Route& r) {
  json::value direct = nullptr;
  if (r.direct_response)
    direct = json::object{{"status", r.direct_response->status}, {"body", r.direct_response->body}};
  return {{"name", r.name},
          {"match", match_json(r.match)},
          {"cluster", optional_string(r.cluster)},
          {"direct_response", std::move(direct)},
          {"rate_limit", optional_string(r.rate_limit)},
          {"timeouts", timeouts_json(r.timeouts, true)},
          {"retries", retries_json(r.retries)},
          {"max_request_body", unless_zero(r.max_request_body)}};
}

const char* underscores_name(HeadersWithUnderscores action) {
  switch (action) {
    case HeadersWithUnderscores::allow:
      return "allow";
    case HeadersWithUnderscores::reject:
      return "reject";
    case HeadersWithUnderscores::drop:
      break;
  }
  return "drop";
}

json::object listener_json(const Listener& l) {
  const bool http = l.protocol == Protocol::http;
  json::array routes;
  for (const auto& r : l.routes) routes.push_back(route_json(r));
  json::value underscores = nullptr;
  if (http) underscores = underscores_name(l.headers_with_underscores);
  return {{"name", l.name},
          {"listen", l.listen.text},
          {"protocol", protocol_name(l.protocol)},
          {"tls", tls_json(l.tls)},
          {"proxy_protocol", l.proxy_protocol},
          {"cluster", optional_string(l.cluster)},
          {"routes", std::move(routes)},
          {"timeouts", listener_timeouts_json(l.timeouts, http)},
          {"retries", retries_json(l.retries)},
          {"rate_limit", optional_string(l.rate_limit)},
          {"max_request_body", unless_zero(l.max_request_body)},
          {"headers_with_underscores", std::move(underscores)},
          {"max_connections", unless_zero(l.max_connections)}};
}

// Options that do not apply to the balancer type are null, as the parser forbids them there.
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

json::value discovery_json(const std::optional<Discovery>& d) {
  if (!d) return nullptr;
  if (const auto* file = std::get_if<FileDiscovery>(&*d)) return json::object{{"file", file->path}};
  if (const auto* dns = std::get_if<DnsDiscovery>(&*d))
    return json::object{
        {"dns",
         json::object{{"name", dns->name}, {"type", dns->type}, {"port", unless_zero(dns->port)}}}};
  const auto& etcd = std::get<EtcdDiscovery>(*d);
  json::array endpoints;
  for (const auto& a : etcd.endpoints) endpoints.emplace_back(a.text);
  return json::object{
      {"etcd", json::object{{"endpoints", std::move(endpoints)}, {"prefix", etcd.prefix}}}};
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

json::value outlier_json(const std::optional<OutlierDetection>& o) {
  if (!o) return nullptr;
  return json::object{{"consecutive_5xx", o->consecutive_5xx},
                      {"base_ejection", format_duration(o->base_ejection)},
                      {"max_ejected_percent", o->max_ejected_percent}};
}

json::object cluster_json(const Cluster& c) {
  json::array endpoints;
  for (const auto& e : c.endpoints)
    endpoints.push_back(json::object{{"address", e.address.text}, {"weight", e.weight}});
  return {{"name", c.name},
          {"balancer", balancer_json(c.balancer)},
          {"endpoints", std::move(endpoints)},
          {"discovery", discovery_json(c.discovery)},
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
                                {"idle_timeout", format_duration(c.pool.idle_timeout)}}}};
}

json::object rate_limit_json(const RateLimit& r) {
  const bool bucket = r.algorithm == RateLimit::Algorithm::token_bucket;
  return {
      {"name", r.name},
      {"key", rate_limit_key_text(r.key)},
      {"algorithm", bucket ? "token_bucket" : "sliding_window"},
      {"rate", format_rate(r.rate)},
      // 0 is "the rate's count"; show what the limiter will actually allow.
      {"burst", bucket ? json::value(r.burst == 0 ? r.rate.count : r.burst) : json::value(nullptr)},
      {"scope", r.scope == RateLimit::Scope::local ? "local" : "global"},
      {"max_keys", r.max_keys}};
}

json::object redis_json(const Redis& r) {
  json::value tls = nullptr;
  if (r.tls)
    tls = json::object{{"ca_file", optional_string(r.tls->ca_file)},
                       {"cert_file", optional_string(r.tls->cert_file)},
                       {"key_file", secret(r.tls->key_file)},
                       {"server_name", optional_string(r.tls->server_name)}};
  // A password read from password_file is that key's secret; `password` was not written.
  const bool from_file = !r.password_file.empty();
  return {{"address", r.address.text},
          {"sync_interval", format_duration(r.sync_interval)},
          {"on_error", r.on_error == Redis::OnError::allow ? "allow" : "deny"},
          {"username", optional_string(r.username)},
          {"password", from_file ? json::value(nullptr) : secret(r.password)},
          {"password_file", secret(r.password_file)},
          {"tls", std::move(tls)}};
}

json::value access_log_json(const AccessLog& a) {
  if (!a.enabled) return nullptr;
  return json::object{{"path", a.path},
                      {"format", a.format == AccessLog::Format::json ? "json" : "text"},
                      {"sample", a.sample}};
}

}  // namespace

const char* balancer_type_name(BalancerType type) {
  switch (type) {
    case BalancerType::round_robin:
      return "round_robin";
    case BalancerType::weighted_round_robin:
      return "weighted_round_robin";
    case BalancerType::least_conn:
      return "least_conn";
    case BalancerType::consistent_hash:
      return "consistent_hash";
    case BalancerType::p2c:
      return "p2c";
  }
  return "round_robin";
}

std::string format_duration(Duration d) {
  const int64_t ms = d.count();
  struct Unit {
    int64_t ms;
    const char* suffix;
  };
  for (Unit u : {Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1000, "s"}})
    if (ms != 0 && ms % u.ms == 0) return std::to_string(ms / u.ms) + u.suffix;
  return std::to_string(ms) + "ms";
}

std::string format_rate(const Rate& rate) {
  const std::string count = std::to_string(rate.count);
  if (rate.per == Duration(1000)) return count + "/s";
  if (rate.per == Duration(60'000)) return count + "/min";
  if (rate.per == Duration(3'600'000)) return count + "/h";
  return count + "/" + format_duration(rate.per);  // not produced by the parser today
}

std::string to_json(const Config& c) {
  json::value admin = nullptr;
  if (c.admin)
    admin = json::object{{"listen", c.admin->listen.text},
                         {"max_endpoint_series", c.admin->max_endpoint_series},
                         {"allowed_hosts", strings(c.admin->allowed_hosts)}};
  json::value redis = nullptr;
  if (c.redis) redis = redis_json(*c.redis);
  json::array listeners, clusters, rate_limits;
  for (const auto& l : c.listeners) listeners.push_back(listener_json(l));
  for (const auto& cl : c.clusters) clusters.push_back(cluster_json(cl));
  for (const auto& r : c.rate_limits) rate_limits.push_back(rate_limit_json(r));
  json::object root{
      {"source_path", c.source_path},
      {"source_hash", c.source_hash},
      {"workers", c.workers == 0 ? json::value("auto") : json::value(c.workers)},
      {"drain_timeout", format_duration(c.drain_timeout)},
      {"max_connections", unless_zero(c.max_connections)},
      {"buffers", json::object{{"size", c.buffers.size}, {"count", c.buffers.count}}},
      {"admin", std::move(admin)},
      {"log", json::object{{"level", log_level_name(c.log.level)},
                           {"format", c.log.format == Log::Format::json ? "json" : "text"},
                           {"access", access_log_json(c.log.access)}}},
      {"listeners", std::move(listeners)},
      {"clusters", std::move(clusters)},
      {"rate_limits", std::move(rate_limits)},
      {"redis", std::move(redis)}};
  return json::serialize(root);
}

}  // namespace sluice::config
