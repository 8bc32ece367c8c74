// to_json: the running config as JSON, with secrets redacted and the config's own notation for
// durations and rates.
#include "config/to_json.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "config/parse.hpp"
#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

namespace json = boost::json;

json::value json_of(const std::string& yaml) {
  ParseResult result = parse_config_text(yaml, "t.yaml");
  // A config using a key that is not supported yet does not validate; to_json must still
  // print what was parsed, which is exactly what the not-yet keys are parsed for.
  return json::parse(to_json(result.config));
}

TEST(FormatDuration, LargestExactUnit) {
  EXPECT_EQ(format_duration(Duration(250)), "250ms");
  EXPECT_EQ(format_duration(Duration(1500)), "1500ms");
  EXPECT_EQ(format_duration(Duration(2000)), "2s");
  EXPECT_EQ(format_duration(Duration(90'000)), "90s");
  EXPECT_EQ(format_duration(Duration(120'000)), "2m");
  EXPECT_EQ(format_duration(Duration(7'200'000)), "2h");
  EXPECT_EQ(format_duration(Duration(0)), "0ms");
}

TEST(FormatRate, Units) {
  EXPECT_EQ(format_rate(Rate{100, Duration(1000)}), "100/s");
  EXPECT_EQ(format_rate(Rate{600, Duration(60'000)}), "600/min");
  EXPECT_EQ(format_rate(Rate{10, Duration(3'600'000)}), "10/h");
}

TEST(ToJson, MinimalConfigHasEveryTopLevelKey) {
  json::value v = json_of(testing::kMinimal);
  const json::object& o = v.as_object();
  EXPECT_EQ(o.at("source_path"), "t.yaml");
  EXPECT_EQ(o.at("source_hash"),
            "c25425f1a7c02ba8bc8a898af2d8438c29e7fa23b10c71e9552f03d7768f842f");
  EXPECT_EQ(o.at("workers"), "auto");
  EXPECT_EQ(o.at("drain_timeout"), "30s");
  EXPECT_TRUE(o.at("max_connections").is_null());
  EXPECT_EQ(o.at("buffers"), json::parse(R"({"size":16384,"count":1024})"));
  EXPECT_TRUE(o.at("admin").is_null());
  EXPECT_EQ(o.at("log"), json::parse(R"({"level":"info","format":"text","access":null})"));
  EXPECT_TRUE(o.at("redis").is_null());
  EXPECT_EQ(o.at("rate_limits"), json::array());
  EXPECT_EQ(o.at("listeners"), json::parse(R"([{
    "name": "web", "listen": "127.0.0.1:8080", "protocol": "tcp", "tls": null,
    "proxy_protocol": null, "cluster": "demo", "routes": [],
    "timeouts": {"connect": "1s", "request": null, "idle": "1m", "header": null,
                 "linger": null},
    "retries": {"attempts": 2, "on": ["connect-failure"], "backoff": null},
    "rate_limit": null, "max_request_body": null, "headers_with_underscores": null,
    "max_connections": null, "deadline": null, "access": null, "trusted_proxies": null,
    "headers": null}])"));
  EXPECT_EQ(o.at("clusters"), json::parse(R"([{
    "name": "demo",
    "balancer": {"type": "round_robin", "load": null, "key": null, "algorithm": null,
                 "virtual_nodes": null, "bounded_load": null},
    "endpoints": [{"address": "127.0.0.1:9001", "weight": 1}],
    "dns": null, "discovery": null, "health_check": null, "panic_threshold": "50%", "panic": "route_all",
    "slow_start": null, "circuit_breaker": null,
    "limits": {"max_connections": null, "max_pending": null, "max_requests": null},
    "outlier_detection": null, "pool": {"max_idle": 64, "idle_timeout": "30s"},
    "sticky_cookie": null, "retry_budget": null,
    "proxy_protocol": "off", "tls": null}])"));
}

TEST(ToJson, HttpRoutesGlobalsAndPolicies) {
  json::value v = json_of(R"(workers: 4
drain_timeout: 1500ms
max_connections: 5000
buffers: { size: 32KiB, count: 512 }
admin: { listen: "[::1]:9901", max_endpoint_series: 50 }
log: { level: warn, format: json, access: { path: /var/log/sluice.log, sample: 0.5 } }
listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    max_request_body: 1MiB
    max_connections: 100
    timeouts: { request: 5s, header: 3s, linger: 500ms }
    routes:
      - name: api
        match: { host: API.example.com, path_prefix: /v1/, methods: [GET],
                 headers: [{ name: X-Canary }, { name: X-Env, exact: prod }] }
        cluster: api
        rate_limit: per-client
        retries: { attempts: 1, on: [connect-failure, 503] }
      - { match: {}, direct_response: { status: 404, body: "no route\n" } }
clusters:
  - name: api
    balancer: { type: consistent_hash, key: "header:X-User", bounded_load: 1.25 }
    endpoints: [{ address: 127.0.0.1:9001, weight: 3 }]
    circuit_breaker: { consecutive_failures: 3 }
    limits: { max_requests: 100 }
    outlier_detection: { base_ejection: 10s }
    pool: { max_idle: 8, idle_timeout: 5s }
rate_limits:
  - { name: per-client, rate: 600/min, burst: 20 }
  - { name: shared, key: global, rate: 5/s, scope: global }
redis: { address: 127.0.0.1:6379 }
)");
  const json::object& o = v.as_object();
  EXPECT_EQ(o.at("workers"), 4);
  EXPECT_EQ(o.at("drain_timeout"), "1500ms");
  EXPECT_EQ(o.at("max_connections"), 5000);
  EXPECT_EQ(o.at("buffers"), json::parse(R"({"size":32768,"count":512})"));
  EXPECT_EQ(o.at("admin"), json::parse(R"({"listen":"[::1]:9901","max_endpoint_series":50,
                                           "allowed_hosts":[]})"));
  EXPECT_EQ(o.at("log"), json::parse(R"({"level":"warn","format":"json","access":
      {"path":"/var/log/sluice.log","format":"json","sample":0.5}})"));
  const json::object& web = o.at("listeners").at(0).as_object();
  EXPECT_TRUE(web.at("cluster").is_null());
  EXPECT_EQ(web.at("max_request_body"), 1 << 20);
  EXPECT_EQ(web.at("headers_with_underscores"), "drop");
  EXPECT_EQ(web.at("max_connections"), 100);
  EXPECT_EQ(web.at("timeouts"), json::parse(R"({"connect": "1s", "request": "5s", "idle": "1m",
                                                "header": "3s", "linger": "500ms"})"));
  EXPECT_EQ(web.at("routes"), json::parse(R"([
    {"name": "api",
     "match": {"host": "api.example.com", "path_exact": null, "path_prefix": "/v1/",
               "path_regex": null, "methods": ["GET"],
               "headers": [{"name": "X-Canary", "exact": null},
                           {"name": "X-Env", "exact": "<redacted>"}], "query": []},
     "cluster": "api", "direct_response": null, "rate_limit": "per-client",
     "timeouts": {"connect": "1s", "request": "5s", "idle": "1m"},
     "retries": {"attempts": 1, "on": ["connect-failure", 503], "backoff": null},
     "max_request_body": 1048576, "deadline": null, "fallback": null, "redirect": null,
     "rewrite": null, "headers": null, "access": null},
    {"name": "1",
     "match": {"host": null, "path_exact": null, "path_prefix": null, "path_regex": null,
               "methods": [], "headers": [], "query": []},
     "cluster": null, "direct_response": {"status": 404, "body": "no route\n"},
     "rate_limit": null,
     "timeouts": {"connect": "1s", "request": "5s", "idle": "1m"},
     "retries": {"attempts": 2, "on": ["connect-failure"], "backoff": null},
     "max_request_body": 1048576, "deadline": null, "fallback": null, "redirect": null,
     "rewrite": null, "headers": null, "access": null}])"));
  EXPECT_EQ(o.at("clusters").at(0), json::parse(R"({
    "name": "api",
    "balancer": {"type": "consistent_hash", "load": null, "key": "header:X-User",
                 "algorithm": "ring", "virtual_nodes": 160, "bounded_load": 1.25},
    "endpoints": [{"address": "127.0.0.1:9001", "weight": 3}],
    "dns": null, "discovery": null, "health_check": null, "panic_threshold": "50%", "panic": "route_all",
    "slow_start": null,
    "circuit_breaker": {"consecutive_failures": 3, "error_ratio": 0.5, "window": "10s",
                        "min_requests": 20, "open_for": "30s", "half_open_probes": 3},
    "limits": {"max_connections": null, "max_pending": null, "max_requests": 100},
    "outlier_detection": {"consecutive_5xx": 5, "base_ejection": "10s",
                          "max_ejected_percent": 50},
    "pool": {"max_idle": 8, "idle_timeout": "5s"},
    "sticky_cookie": null, "retry_budget": null,
    "proxy_protocol": "off", "tls": null})"));
  EXPECT_EQ(o.at("rate_limits"), json::parse(R"([
    {"name": "per-client", "key": "client_ip", "algorithm": "token_bucket", "rate": "600/min",
     "burst": 20, "queue": null, "headers": "on_limit", "scope": "local", "max_keys": 100000},
    {"name": "shared", "key": "global", "algorithm": "token_bucket", "rate": "5/s",
     "burst": 5, "queue": null, "headers": "on_limit", "scope": "global", "max_keys": 100000}])"));
  EXPECT_EQ(o.at("redis"), json::parse(R"({"address": "127.0.0.1:6379",
    "sync_interval": "50ms", "timeout": "100ms", "on_error": "allow", "username": null,
    "password": null,
    "password_file": null, "tls": null})"));
}

TEST(ToJson, TlsKeyPathsAreRedacted) {
  json::value v = json_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8443
    protocol: http
    tls:
      certificates:
        - { cert: certs/a.pem, key: /secret/a.key, sni: [a.example.com] }
        - { cert: certs/b.pem, key: /secret/b.key }
    routes: [{ match: {}, direct_response: {} }]
)");
  EXPECT_EQ(v.at("listeners").at(0).at("tls"), json::parse(R"({"certificates": [
    {"cert": "certs/a.pem", "key": "<redacted>", "sni": ["a.example.com"]},
    {"cert": "certs/b.pem", "key": "<redacted>", "sni": []}],
    "strict_sni": false, "alpn": ["http/1.1"], "min_version": "1.2",
    "handshake_timeout": "10s", "session_tickets": true, "ticket_key_rotation": "1h",
    "client_certificates": null})"));
  EXPECT_EQ(to_json(parse_config_text(R"(listeners:
  - name: web
    listen: 127.0.0.1:8443
    protocol: http
    tls: { certificates: [{ cert: c.pem, key: /secret/a.key }] }
    routes: [{ match: {}, direct_response: {} }]
)",
                                      "t.yaml")
                        .config)
                .find("/secret/"),
            std::string::npos);
}

TEST(ToJson, DiscoveryAndHealthChecks) {
  json::value v = json_of(R"(listeners:
  - { name: web, listen: 127.0.0.1:8080, protocol: tcp, cluster: a }
clusters:
  - name: a
    discovery: { dns: { name: api.internal, port: 8080 } }
    health_check: { http: { path: /ready }, interval: 5s }
    panic_threshold: 30%
    panic: fail_closed
    slow_start: 1m
  - name: b
    discovery: { etcd: { endpoints: [127.0.0.1:2379], prefix: /services/b/ } }
    health_check: {}
)");
  EXPECT_EQ(v.at("clusters").at(0).at("discovery"),
            json::parse(R"({"dns": {"name": "api.internal", "type": "A", "port": 8080,
                                    "resolvers": null, "min_ttl": "1s", "max_ttl": "5m",
                                    "negative_ttl": "5s", "timeout": "2s"},
                            "confirm_window": "30s", "hold_fraction": 0.5})"));
  EXPECT_EQ(v.at("clusters").at(0).at("health_check"),
            json::parse(R"({"http": {"path": "/ready", "host": null, "expect": ["200-399"]},
                            "interval": "5s", "timeout": "1s", "healthy": 2, "unhealthy": 3,
                            "jitter": "10%"})"));
  EXPECT_EQ(v.at("clusters").at(0).at("panic_threshold"), "30%");
  EXPECT_EQ(v.at("clusters").at(0).at("panic"), "fail_closed");
  EXPECT_EQ(v.at("clusters").at(0).at("slow_start"), "1m");
  EXPECT_EQ(v.at("clusters").at(1).at("discovery"),
            json::parse(R"({"etcd": {"endpoints": ["127.0.0.1:2379"], "prefix": "/services/b/",
                                "timeout": "5s", "watchdog": "10s"},
                      "confirm_window": "30s", "hold_fraction": 0.5})"));
  EXPECT_TRUE(v.at("clusters").at(1).at("health_check").at("http").is_null());
}

TEST(ToJson, ConsulDiscovery) {
  json::value v = json_of(R"(listeners:
  - { name: web, listen: 127.0.0.1:8080, protocol: tcp, cluster: a }
clusters:
  - name: a
    discovery: { consul: { address: 127.0.0.1:8500, service: api, tag: v2 } }
)");
  EXPECT_EQ(v.at("clusters").at(0).at("discovery"),
            json::parse(R"({"consul": {"address": "127.0.0.1:8500", "service": "api", "tag": "v2",
                            "datacenter": null, "wait": "1m", "timeout": "5s"},
                            "confirm_window": "30s", "hold_fraction": 0.5})"));
}

TEST(ToJson, TrafficPoliciesWithTheCookieSecretRedacted) {
  json::value v = json_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    deadline: { header: X-D, trust_incoming: true }
    routes:
      - match: {}
        cluster: c
        retries: { backoff: { base: 10ms, max: 1s } }
        fallback: { on: [circuit-open], response: { headers: { X-A: b }, body: "hi" } }
clusters:
  - name: c
    endpoints: [{ address: 127.0.0.1:9001 }]
    sticky_cookie: { secret: hush, samesite: lax }
    retry_budget: { ratio: 0.5, min_concurrency: 1 }
)");
  const json::object& route = v.at("listeners").at(0).at("routes").at(0).as_object();
  EXPECT_EQ(route.at("deadline"),
            json::parse(R"({"header": "X-D", "propagate": true, "trust_incoming": true})"));
  EXPECT_EQ(route.at("retries").at("backoff"), json::parse(R"({"base": "10ms", "max": "1s"})"));
  EXPECT_EQ(route.at("fallback"), json::parse(R"({"on": ["circuit-open"], "cluster": null,
    "response": {"status": 503, "headers": {"X-A": "b"}, "body_file": null, "body_bytes": 2}})"));
  const json::object& c = v.at("clusters").at(0).as_object();
  EXPECT_EQ(c.at("sticky_cookie"), json::parse(R"({"name": "sluice_sticky", "path": "/",
    "domain": null, "max_age": null, "httponly": true, "secure": false, "samesite": "lax",
    "secret": "<redacted>"})"));
  EXPECT_EQ(c.at("retry_budget"), json::parse(R"({"ratio": 0.5, "min_concurrency": 1})"));
}

}  // namespace
}  // namespace sluice::config
