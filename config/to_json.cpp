// Config -> JSON. One function per config struct, each writing every key of its YAML map.
#include "config/to_json.hpp"

#include <boost/json.hpp>

#include "config/to_json_parts.hpp"

namespace sluice::config {
namespace {

namespace json = boost::json;
using json_parts::cluster_json;
using json_parts::unless_zero;

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

}  // namespace

// Here rather than in to_json_cluster.cpp: the client key goes through secret().
json::value json_parts::upstream_tls_json(const std::optional<UpstreamTls>& tls) {
  if (!tls) return nullptr;
  json::value client = nullptr;
  if (const auto& c = tls->client_certificate)
    client = json::object{{"cert", c->cert_path}, {"key", secret(c->key_path)}};
  return json::object{{"sni", optional_string(tls->sni)},
                      {"verify_name", optional_string(tls->verify_name)},
                      {"verify", tls->verify},
                      {"ca", optional_string(tls->ca_path)},
                      {"client_certificate", std::move(client)},
                      {"alpn", strings(tls->alpn)},
                      {"min_version", tls->min_version == TlsVersion::v1_3 ? "1.3" : "1.2"},
                      {"session_reuse", tls->session_reuse}};
}

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

// A rate limit's key as written: one name, or the list of a combined key.
json::value rate_limit_key_json(const RateLimit& r) {
  if (r.more_keys.empty()) return json::value(rate_limit_key_text(r.key));
  json::array parts{json::value(rate_limit_key_text(r.key))};
  for (const RateLimitKey& k : r.more_keys) parts.push_back(json::value(rate_limit_key_text(k)));
  return parts;
}

// `rate_limit:` of a route or listener: null, one name, or the list of names.
json::value rate_limits_json(const std::string& first, const std::vector<std::string>& more) {
  if (more.empty()) return optional_string(first);
  json::array names{json::value(first)};
  for (const std::string& name : more) names.push_back(json::value(name));
  return names;
}

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
  return {{"attempts", r.attempts},
          {"on", std::move(on)},
          {"backoff", json_parts::backoff_json(r.backoff)}};
}

json::value tls_json(const std::optional<Tls>& tls) {
  if (!tls) return nullptr;
  json::array certificates;
  for (const auto& c : tls->certificates)
    certificates.push_back(
        json::object{{"cert", c.cert_path}, {"key", secret(c.key_path)}, {"sni", strings(c.sni)}});
  json::value client = nullptr;
  if (const auto& c = tls->client_certificates)
    client = json::object{{"ca", c->ca_path},
                          {"verify", c->required ? "required" : "optional"},
                          {"subject_header", c->subject_header}};
  return json::object{{"certificates", std::move(certificates)},
                      {"strict_sni", tls->strict_sni},
                      {"alpn", strings(tls->alpn)},
                      {"min_version", tls->min_version == TlsVersion::v1_3 ? "1.3" : "1.2"},
                      {"handshake_timeout", format_duration(tls->handshake_timeout)},
                      {"session_tickets", tls->session_tickets},
                      {"ticket_key_rotation", format_duration(tls->ticket_key_rotation)},
                      {"client_certificates", std::move(client)}};
}

json::object match_json(const RouteMatch& m) {
  json::array headers;
  for (const auto& h : m.headers)
    // The value may be a credential (`Authorization: Bearer ...`); the name tells which match.
    headers.push_back(json::object{{"name", h.name}, {"exact", secret(h.exact)}});
  return {{"host", optional_string(m.host)},
          {"path_exact", optional_string(m.path_exact)},
          {"path_prefix", optional_string(m.path_prefix)},
          {"path_regex", optional_string(m.path_regex)},
          {"methods", strings(m.methods)},
          {"headers", std::move(headers)},
          {"query", json_parts::query_json(m.query)}};
}

json::object route_json(const Route& r) {
  json::value direct = nullptr;
  if (r.direct_response)
    direct = json::object{{"status", r.direct_response->status}, {"body", r.direct_response->body}};
  return {{"name", r.name},
          {"match", match_json(r.match)},
          {"cluster", optional_string(r.cluster)},
          {"direct_response", std::move(direct)},
          {"rate_limit", rate_limits_json(r.rate_limit, r.more_rate_limits)},
          {"timeouts", timeouts_json(r.timeouts, true)},
          {"retries", retries_json(r.retries)},
          {"max_request_body", unless_zero(r.max_request_body)},
          {"deadline", json_parts::deadline_json(r.deadline)},
          {"fallback", json_parts::fallback_json(r.fallback)},
          {"redirect", json_parts::redirect_json(r.redirect)},
          {"rewrite", json_parts::rewrite_json(r.rewrite)},
          {"headers", json_parts::header_rules_json(r.headers)},
          {"access", json_parts::access_json(r.access)}};
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

json::value proxy_protocol_json(const std::optional<ProxyProtocolAccept>& accept) {
  if (!accept) return nullptr;
  json::array trusted;
  for (const auto& c : accept->trusted) trusted.push_back(json::string(c.text));
  return json::object{{"trusted", std::move(trusted)},
                      {"timeout", format_duration(accept->timeout)}};
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
          {"proxy_protocol", proxy_protocol_json(l.proxy_protocol)},
          {"cluster", optional_string(l.cluster)},
          {"routes", std::move(routes)},
          {"timeouts", listener_timeouts_json(l.timeouts, http)},
          {"retries", retries_json(l.retries)},
          {"rate_limit", rate_limits_json(l.rate_limit, l.more_rate_limits)},
          {"max_request_body", unless_zero(l.max_request_body)},
          {"headers_with_underscores", std::move(underscores)},
          {"max_connections", unless_zero(l.max_connections)},
          {"deadline", json_parts::deadline_json(l.deadline)},
          {"access", json_parts::access_json(l.rules.access)},
          {"trusted_proxies", json_parts::trusted_proxies_json(l.rules.trusted_proxies)},
          {"headers", json_parts::header_rules_json(l.rules.headers)}};
}

// Options that do not apply to the balancer type are null, as the parser forbids them there.
json::object rate_limit_json(const RateLimit& r) {
  using Algorithm = RateLimit::Algorithm;
  constexpr const char* kAlgorithms[] = {"token_bucket", "sliding_window", "fixed_window",
                                         "leaky_bucket"};
  const bool bucket = r.algorithm == Algorithm::token_bucket;
  const bool leaky = r.algorithm == Algorithm::leaky_bucket;
  // 0 is "the rate's count" (token bucket) or 1 (leaky): show what the limiter will allow.
  json::value burst = nullptr;
  if (bucket) burst = r.burst == 0 ? r.rate.count : r.burst;
  if (leaky) burst = r.burst == 0 ? 1 : r.burst;
  return {{"name", r.name},
          {"key", rate_limit_key_json(r)},
          {"algorithm", kAlgorithms[static_cast<size_t>(r.algorithm)]},
          {"rate", format_rate(r.rate)},
          {"burst", std::move(burst)},
          {"queue", leaky ? json::value(r.queue) : json::value(nullptr)},
          {"headers", r.headers_always ? "always" : "on_limit"},
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
          {"timeout", format_duration(r.timeout)},
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
