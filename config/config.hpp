// The typed, immutable sluice configuration: what a YAML file means once it has
// been parsed and validated (see config/parse.hpp). Plain data, no behaviour.
// Built on the control thread; shared read-only with workers through snapshots.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/endpoint_sources.hpp"
#include "config/proxy_protocol.hpp"
#include "config/rules.hpp"
#include "config/tls.hpp"
#include "config/traffic_policy.hpp"
#include "config/values.hpp"

namespace sluice::config {

enum class Protocol { http, tcp };
enum class LogLevel { debug, info, warn, error };

struct Timeouts {
  Duration connect{1000};
  Duration request{15000};
  Duration idle{60000};
  // http listeners only (a route cannot change them: both happen before routing or after
  // the last response). A request head must arrive whole within `header` (slowloris); a
  // connection sluice closes drains the client's late bytes for at most `linger`, so that
  // its answer is not destroyed by an RST.
  Duration header{10000};
  Duration linger{2000};
};

struct DirectResponse {
  int status = 200;
  std::string body;
};

struct HeaderMatch {
  std::string name;
  std::optional<std::string> exact;  // absent: the header must merely be present
};

struct RouteMatch {
  std::optional<std::string> host;  // exact, or "*.example.com"
  std::optional<std::string> path_exact;
  std::optional<std::string> path_prefix;
  std::optional<std::string> path_regex;  // PCRE2, the whole path (anchored at both ends)
  std::vector<std::string> methods;       // empty: any
  std::vector<HeaderMatch> headers;
  std::vector<QueryMatch> query;
};

struct Route {
  // Unique within the listener; the `route` label of metrics and the access log. Defaults to
  // the route's position ("0", "1", ...), so unnamed routes still get stable-enough labels.
  std::string name;
  RouteMatch match;
  std::string cluster;  // empty when direct_response is set
  std::optional<DirectResponse> direct_response;
  std::string rate_limit;                     // name in Config::rate_limits, or empty
  std::vector<std::string> more_rate_limits;  // `rate_limit: [a, b, c]`: b, c (all must admit)
  Timeouts timeouts;
  Retries retries;
  uint64_t max_request_body = 0;  // bytes; 0: no limit (inherited from the listener)
  Deadline deadline;              // inherited from the listener
  std::optional<Fallback> fallback;
  std::optional<Redirect> redirect;  // instead of cluster / direct_response
  std::optional<Rewrite> rewrite;
  HeaderRules headers;   // after the listener's
  AccessControl access;  // after the listener's
};

// What an http listener does with a request header whose name contains '_'
// (`headers_with_underscores`, after Envoy's headers_with_underscores_action). CGI-style
// backends (PHP, Rack, Django, ...) file `X-User` and `X_User` under one name (HTTP_X_USER),
// so a name the proxy never looked at could stand in for one it checked or set.
enum class HeadersWithUnderscores { allow, reject, drop };

struct Listener {
  std::string name;
  Address listen;
  Protocol protocol = Protocol::http;
  std::optional<Tls> tls;
  std::optional<ProxyProtocolAccept> proxy_protocol;  // absent: off
  std::vector<Route> routes;                          // http listeners
  // tcp listeners: the cluster every connection goes to, and its timeouts/retries.
  std::string cluster;
  std::string rate_limit;
  std::vector<std::string> more_rate_limits;  // as Route's (http listeners only)
  Timeouts timeouts;
  Retries retries;
  uint64_t max_request_body = 0;  // http: bytes; 0: no limit. Routes inherit it.
  // http: nginx's default (underscores_in_headers off): the header is removed before
  // routing and forwarding, the request goes on.
  HeadersWithUnderscores headers_with_underscores = HeadersWithUnderscores::drop;
  // Client connections open on this listener, all workers together; beyond it a new
  // connection is closed as soon as it is accepted. 0: no limit.
  uint32_t max_connections = 0;
  Deadline deadline;    // http: routes inherit it
  ListenerRules rules;  // http: access, trusted_proxies, headers (rules.hpp)
};

enum class BalancerType { round_robin, weighted_round_robin, least_conn, consistent_hash, p2c };
enum class P2cLoad { in_flight, ewma_latency };
enum class HashAlgorithm { ring, maglev };

// Where a consistent-hash key comes from. TCP listeners always use the client IP.
struct HashKey {
  enum class Source { client_ip, header, cookie, path, query } source = Source::client_ip;
  std::string name;  // header, cookie or query parameter name
};

struct Balancer {
  BalancerType type = BalancerType::round_robin;
  P2cLoad load = P2cLoad::in_flight;
  HashKey key;
  HashAlgorithm algorithm = HashAlgorithm::ring;
  uint32_t virtual_nodes = 160;
  std::optional<double> bounded_load;  // factor > 1.0, e.g. 1.25
};

struct Endpoint {
  Address address;  // for a named endpoint only `text` is set: the address as written
  uint32_t weight = 1;
  // A DNS name to resolve ("api-1.internal", with `port`); empty for a literal address. The
  // control thread resolves it like `discovery: dns` and runs every address it gets, each
  // with this weight (clusters[].dns says how).
  std::string host;
  uint16_t port = 0;
  bool named() const { return !host.empty(); }
};

struct ClusterLimits {
  uint32_t max_connections = 0;  // 0: unlimited
  uint32_t max_pending = 0;
  uint32_t max_requests = 0;
};

struct OutlierDetection {
  int consecutive_5xx = 5;
  Duration base_ejection{30000};
  int max_ejected_percent = 50;
};

// Idle keep-alive connections to a cluster's endpoints, per worker and endpoint.
struct ConnectionPool {
  uint32_t max_idle = 64;  // beyond this a connection is closed instead of kept
  Duration idle_timeout{30000};
};

struct Cluster {
  std::string name;
  Balancer balancer;
  std::vector<Endpoint> endpoints;
  std::optional<Discovery> discovery;
  // `dns:` how host names in `endpoints` resolve (type A|AAAA, resolvers, TTLs; its name and
  // port are unused: each endpoint has its own).
  DnsDiscovery endpoint_dns;
  bool has_named_endpoints() const {
    for (const Endpoint& e : endpoints)
      if (e.named()) return true;
    return false;
  }
  DiscoveryGuard discovery_guard;  // read from the `discovery` map; used only with discovery
  std::optional<HealthCheck> health_check;
  Panic panic;
  // New and recovered endpoints ramp their weight from 10% to 100% over this window; 0: off.
  Duration slow_start{0};
  std::optional<CircuitBreaker> circuit_breaker;
  ClusterLimits limits;
  std::optional<OutlierDetection> outlier_detection;
  ConnectionPool pool;
  std::optional<StickyCookie> sticky_cookie;
  std::optional<RetryBudget> retry_budget;
  ProxyProtocolSend proxy_protocol = ProxyProtocolSend::off;  // see proxy_protocol.hpp
  std::optional<UpstreamTls> tls;  // TLS to the endpoints (tls.hpp); none: plain TCP
};

struct RateLimitKey {
  enum class Source { client_ip, header, route, global } source = Source::client_ip;
  std::string header;  // for Source::header
};

struct RateLimit {
  std::string name;
  RateLimitKey key;
  enum class Algorithm { token_bucket, sliding_window, fixed_window, leaky_bucket };
  Algorithm algorithm = Algorithm::token_bucket;
  Rate rate;
  uint64_t burst = 0;  // token bucket: depth, 0: rate.count; leaky bucket: at once, 0: 1
  enum class Scope { local, global } scope = Scope::local;
  uint32_t max_keys = 100000;           // bound on the per-key table
  std::vector<RateLimitKey> more_keys;  // `key: [client_ip, route]`: the parts after `key`
  uint32_t queue = 0;                   // leaky_bucket: requests that may wait per key
  bool headers_always = false;          // `headers: always`: RateLimit fields on every response
};

// redis.tls: parsed and validated so a config can be written for it, then refused: Debian
// bookworm's hiredis (0.14) has no TLS, which needs hiredis >= 1.0 built with SSL.
struct RedisTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
};

struct Redis {
  Address address;
  Duration sync_interval{50};
  // How long a connect, or the replies of one round, may take before Redis counts as
  // unreachable (and on_error decides). Rounds go one at a time, so it may exceed sync_interval.
  Duration timeout{100};
  enum class OnError { allow, deny } on_error = OnError::allow;
  // AUTH, sent first on every new connection when `password` is not empty: `AUTH username
  // password` (Redis 6 ACL) with a username, the legacy `AUTH password` without one.
  std::string username;
  // The secret itself: `password:` as written, or what `password_file:` held (read when the
  // config is loaded, one trailing newline removed) so it need not sit in the YAML.
  std::string password;
  std::string password_file;  // the path, when the password came from a file
  std::optional<RedisTls> tls;
};

// The address `admin: {}` listens on.
inline constexpr const char* kDefaultAdminListen = "127.0.0.1:9901";

struct Admin {
  Address listen;
  // Cap on per-endpoint metric series (each endpoint is a few label sets): a cluster fed by
  // discovery can have thousands of endpoints, and a scraper must not pay for all of them.
  uint32_t max_endpoint_series = 1000;
  // Further names the admin answers to (admin.allowed_hosts), lower case, without a port: the
  // name a scraper uses for it (`sluice` in docker compose). Besides these it answers only to
  // its own address (and localhost and the loopback addresses when that is loopback or a
  // wildcard), so a web page cannot reach it through DNS rebinding.
  std::vector<std::string> allowed_hosts;
};

// A host as admin.allowed_hosts holds it and the admin compares a request's Host with it: an IP
// address in its canonical text without brackets ("::1"; "[::1]" is accepted), a name in lower
// case; "" when `host` is neither. parse_globals.cpp.
std::string canonical_admin_host(std::string_view host);

struct AccessLog {
  std::string path = "stdout";  // "stdout", "off", or a file path
  enum class Format { json, text } format = Format::json;
  double sample = 1.0;  // fraction of requests logged, in [0, 1]
  // Whether requests are logged at all: `log.access` is present and its path is not "off".
  // The fields above keep their defaults when it is absent, so they alone cannot tell.
  bool enabled = false;
};

struct Log {
  LogLevel level = LogLevel::info;
  // How stderr lines look: `text` ("2026-12-01T10:00:00.000Z warn message", every line of a
  // multi-line message prefixed) or `json` (one object per message, for log shippers).
  enum class Format { text, json } format = Format::text;
  AccessLog access;
};

struct Warning {
  int line = 0;  // 1-based, as in errors
  int column = 0;
  std::string message;  // "admin.listen: ..."
  std::string file;     // the main file or one it includes
};

struct Config {
  std::string source_path;  // the file it was read from
  unsigned workers = 0;     // 0: one per core ("auto")
  std::optional<Admin> admin;
  Log log;
  std::vector<Listener> listeners;
  std::vector<Cluster> clusters;
  std::vector<RateLimit> rate_limits;
  std::optional<Redis> redis;
  // How long SIGTERM or POST /drain waits for open connections before closing them.
  Duration drain_timeout{30000};
  // Client connections open on all listeners together; 0: no limit.
  uint32_t max_connections = 0;
  // Each worker's receive buffers (an io_uring buffer ring): every socket read lands in
  // one, and a slow reader holds them until its bytes are sent on. Fixed at start.
  struct Buffers {
    uint32_t size = 16 * 1024;
    uint32_t count = 1024;  // a power of two, as the kernel's ring needs
  } buffers;
  // Hex SHA-256 of the exact bytes parsed (the file's content for parse_config_file), so
  // /config and logs can tell which version of a file is running.
  std::string source_hash;
  // Advice about a valid file: nothing wrong enough to refuse (the admin listener off
  // loopback). `--validate` prints them as "file:line:col: warning: message" and a start logs
  // them. validate.cpp.
  std::vector<Warning> warnings;

  const Cluster* find_cluster(const std::string& name) const {
    for (const auto& c : clusters)
      if (c.name == name) return &c;
    return nullptr;
  }
  const RateLimit* find_rate_limit(const std::string& name) const {
    for (const auto& r : rate_limits)
      if (r.name == name) return &r;
    return nullptr;
  }
};

}  // namespace sluice::config
