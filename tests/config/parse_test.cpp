// parse_config_text/parse_config_file: typed values, defaults, and one exact message per rule.
#include "config/parse.hpp"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/config/test_util.hpp"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using testing::errors_of;
using ::testing::IsEmpty;
using testing::kMinimal;

TEST(Parse, DefaultExampleShape) {
  auto result = parse_config_text(R"(workers: auto
listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: demo
clusters:
  - name: demo
    balancer: { type: round_robin }
    endpoints:
      - { address: 127.0.0.1:9001 }
      - { address: 127.0.0.1:9002 }
)",
                                  "default.yaml");
  ASSERT_TRUE(result.ok()) << result.errors[0].to_string();
  const Config& c = result.config;
  EXPECT_EQ(c.source_path, "default.yaml");
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.log.level, LogLevel::info);
  ASSERT_EQ(c.listeners.size(), 1u);
  const Listener& l = c.listeners[0];
  EXPECT_EQ(l.name, "web");
  EXPECT_EQ(l.protocol, Protocol::tcp);
  EXPECT_EQ(l.cluster, "demo");
  EXPECT_EQ(l.listen.family(), AF_INET);
  EXPECT_EQ(l.listen.length, sizeof(sockaddr_in));
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(l.listen.sockaddr_ptr())->sin_port), 8080);
  // tcp listener defaults
  EXPECT_EQ(l.timeouts.connect, Duration(1000));
  EXPECT_EQ(l.timeouts.idle, Duration(60'000));
  EXPECT_EQ(l.retries.attempts, 2);
  EXPECT_TRUE(l.rate_limit.empty());
  const Cluster* cluster = c.find_cluster("demo");
  ASSERT_NE(cluster, nullptr);
  EXPECT_EQ(cluster->balancer.type, BalancerType::round_robin);
  ASSERT_EQ(cluster->endpoints.size(), 2u);
  EXPECT_EQ(cluster->endpoints[1].address.text, "127.0.0.1:9002");
  EXPECT_EQ(cluster->endpoints[1].weight, 1u);
  EXPECT_EQ(c.find_cluster("nope"), nullptr);
}

TEST(Parse, ExplicitValues) {
  auto result = parse_config_text(R"(workers: 8
log: { level: debug }
listeners:
  - name: db
    listen: "[::]:5432"
    protocol: tcp
    cluster: pg
    timeouts: { connect: 250ms, idle: 2h }
    retries: { attempts: 0 }
clusters:
  - name: pg
    balancer: { type: weighted_round_robin }
    endpoints:
      - { address: 10.0.0.1:5432, weight: 3 }
      - { address: localhost:5433 }
)",
                                  "t.yaml");
  ASSERT_TRUE(result.ok()) << result.errors[0].to_string();
  const Config& c = result.config;
  EXPECT_EQ(c.workers, 8u);
  EXPECT_EQ(c.log.level, LogLevel::debug);
  EXPECT_EQ(c.listeners[0].listen.family(), AF_INET6);
  EXPECT_EQ(c.listeners[0].timeouts.connect, Duration(250));
  EXPECT_EQ(c.listeners[0].timeouts.idle, Duration(7'200'000));
  EXPECT_EQ(c.listeners[0].retries.attempts, 0);
  EXPECT_EQ(c.clusters[0].balancer.type, BalancerType::weighted_round_robin);
  EXPECT_EQ(c.clusters[0].endpoints[0].weight, 3u);
  EXPECT_EQ(c.clusters[0].endpoints[1].address.family(), AF_INET);
}

TEST(Parse, BalancerOptions) {
  auto result = parse_config_text(kMinimal + R"(  - name: ch
    balancer: { type: consistent_hash, key: "header:X-User", algorithm: maglev, bounded_load: 1.25 }
    endpoints: [{ address: 127.0.0.1:9001 }]
  - name: ring
    balancer: { type: consistent_hash, algorithm: ring, virtual_nodes: 50 }
    endpoints: [{ address: 127.0.0.1:9001 }]
  - name: p
    balancer: { type: p2c, load: ewma_latency }
    endpoints: [{ address: 127.0.0.1:9001 }]
  - name: lc
    balancer: { type: least_conn }
    endpoints: [{ address: 127.0.0.1:9001 }]
)",
                                  "t.yaml");
  ASSERT_TRUE(result.ok()) << result.errors[0].to_string();
  const Balancer& ch = result.config.find_cluster("ch")->balancer;
  EXPECT_EQ(ch.type, BalancerType::consistent_hash);
  EXPECT_EQ(ch.key.source, HashKey::Source::header);
  EXPECT_EQ(ch.key.name, "X-User");
  EXPECT_EQ(ch.algorithm, HashAlgorithm::maglev);
  EXPECT_EQ(ch.virtual_nodes, 160u);
  EXPECT_EQ(result.config.find_cluster("ring")->balancer.virtual_nodes, 50u);
  EXPECT_EQ(result.config.find_cluster("ring")->balancer.algorithm, HashAlgorithm::ring);
  EXPECT_EQ(ch.bounded_load, 1.25);
  const Balancer& p = result.config.find_cluster("p")->balancer;
  EXPECT_EQ(p.type, BalancerType::p2c);
  EXPECT_EQ(p.load, P2cLoad::ewma_latency);
  EXPECT_EQ(result.config.find_cluster("lc")->balancer.type, BalancerType::least_conn);
  EXPECT_FALSE(result.config.find_cluster("demo")->balancer.bounded_load.has_value());
}

TEST(Parse, ReportsEveryErrorAtOnceInFileOrder) {
  EXPECT_THAT(
      errors_of(R"(workers: 0
log: { level: verbose }
listeners:
  - name: web
    listen: 127.0.0.1:80800
    protocol: tcp
    cluster: dmeo
clusters:
  - name: demo
    endpoints: [{ address: 127.0.0.1:9001, weight: 0 }]
)"),
      ElementsAre("t.yaml:1:10: workers: expected auto or a number of workers between 1 and "
                  "1024, got '0'",
                  "t.yaml:2:15: log.level: expected one of debug, info, warn, error, got "
                  "'verbose'",
                  "t.yaml:5:13: listeners[0].listen: port 80800 is out of range (1..65535)",
                  "t.yaml:7:14: listeners[0].cluster: unknown cluster 'dmeo' (did you mean "
                  "'demo'?)",
                  "t.yaml:10:52: clusters[0].endpoints[0].weight: must be between 1 and 65535, "
                  "got 0"));
}

TEST(Parse, UnknownKeys) {
  EXPECT_THAT(errors_of(R"(listenrs: []
listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: demo
    timeout: { connect: 1s }
    zzz: 1
clusters:
  - name: demo
    endpoints: [{ adress: 127.0.0.1:9001 }]
)"),
              ElementsAre("t.yaml:1:1: listenrs: unknown key (did you mean 'listeners'?)",
                          "t.yaml:7:5: listeners[0].timeout: unknown key (did you mean "
                          "'timeouts'?)",
                          "t.yaml:8:5: listeners[0].zzz: unknown key (expected one of name, "
                          "listen, protocol, tls, proxy_protocol, timeouts, retries, rate_limit, "
                          "max_request_body, max_connections, deadline, headers_with_underscores, "
                          "access, trusted_proxies, headers, cluster, "
                          "routes)",
                          "t.yaml:11:17: clusters[0].endpoints[0]: missing required key 'address'",
                          "t.yaml:11:19: clusters[0].endpoints[0].adress: unknown key (did you "
                          "mean 'address'?)"));
}

TEST(Parse, WrongTypes) {
  EXPECT_THAT(errors_of(R"(workers: [1]
listeners:
  - name: { a: 1 }
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: demo
    timeouts: 5s
    retries: { attempts: "2" }
clusters:
  - name: demo
    balancer: round_robin
    endpoints: { address: 127.0.0.1:9001 }
)"),
              ElementsAre("t.yaml:1:10: workers: expected auto or a number of workers between 1 "
                          "and 1024, got a list",
                          "t.yaml:3:11: listeners[0].name: expected a name, got a map",
                          "t.yaml:7:15: listeners[0].timeouts: expected a map, got '5s'",
                          "t.yaml:8:26: listeners[0].retries.attempts: expected an integer, got "
                          "the string '2' (quotes make a string: write 2 without them)",
                          "t.yaml:11:15: clusters[0].balancer: expected a map, got 'round_robin'",
                          "t.yaml:12:16: clusters[0].endpoints: expected a list, got a map"));
}

TEST(Parse, EmptyValuePointsAtItsKey) {
  EXPECT_THAT(errors_of(kMinimal + "log:\n  level:\n"),
              ElementsAre("t.yaml:10:3: log.level: expected one of debug, info, warn, error, got "
                          "nothing"));
}

TEST(Parse, BooleansAreOnlyTrueOrFalse) {
  EXPECT_THAT(errors_of(R"(listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: tcp
    cluster: demo
    proxy_protocol: yes
clusters:
  - name: demo
    endpoints: [{ address: 127.0.0.1:9001 }]
)"),
              ElementsAre("t.yaml:6:21: listeners[0].proxy_protocol: expected true or false, got "
                          "'yes'"));
}

TEST(Parse, BadScalarsInContext) {
  EXPECT_THAT(
      errors_of(R"(listeners:
  - name: web
    listen: db.internal:80
    protocol: tcp
    cluster: demo
    timeouts: { connect: 1.5s, idle: 0ms }
    retries: { attempts: 11 }
clusters:
  - name: demo
    endpoints:
      - { address: "[::1]" }
      - { address: 1.2.3.4:0 }
      - { address: 127.0.0.1:http }
rate_limits:
  - { name: r, rate: 100/day }
)"),
      ElementsAre(
          "t.yaml:3:13: listeners[0].listen: host name 'db.internal' is not supported here: use "
          "an IP address or localhost (a cluster's endpoints may name hosts)",
          "t.yaml:6:26: listeners[0].timeouts.connect: expected a duration like 250ms, 2s, 1m or "
          "1h, got '1.5s'",
          "t.yaml:6:38: listeners[0].timeouts.idle: must be longer than 0",
          "t.yaml:7:26: listeners[0].retries.attempts: must be between 0 and 10, got 11",
          "t.yaml:11:20: clusters[0].endpoints[0].address: missing ':port' after ']' in '[::1]' "
          "(expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080)",
          "t.yaml:12:20: clusters[0].endpoints[1].address: port 0 is out of range (1..65535)",
          "t.yaml:13:20: clusters[0].endpoints[2].address: port 'http' is not a number",
          "t.yaml:15:22: rate_limits[0].rate: expected a rate like 100/s, 600/min or 10/h, got "
          "'100/day'"));
}

TEST(Parse, WorkersRange) {
  EXPECT_TRUE(parse_config_text("workers: 1024\n" + kMinimal, "t").ok());
  EXPECT_THAT(errors_of("workers: 1025\n" + kMinimal),
              ElementsAre("t.yaml:1:10: workers: expected auto or a number of workers between 1 "
                          "and 1024, got '1025'"));
  EXPECT_THAT(errors_of("workers: \"4\"\n" + kMinimal),
              ElementsAre("t.yaml:1:10: workers: expected auto or a number of workers between 1 "
                          "and 1024, got the string '4' (quotes make a string: write 4 without "
                          "them)"));
  // The same hint wherever a quoted value would have been the number or boolean expected.
  EXPECT_THAT(errors_of("drain_timeout: 1s\nadmin: { max_endpoint_series: \"5\" }\n" + kMinimal),
              ElementsAre("t.yaml:2:31: admin.max_endpoint_series: expected an integer, got the "
                          "string '5' (quotes make a string: write 5 without them)"));
}

TEST(Parse, ValidatesUnsupportedSectionsFully) {
  EXPECT_THAT(
      errors_of(kMinimal + R"(    discovery: { dns: { name: api.internal } }
    health_check: { interval: 1s, timeout: 2s, healthy: 0 }
    circuit_breaker: { error_ratio: 0 }
    outlier_detection: { max_ejected_percent: 101 }
rate_limits:
  - { name: r, rate: 1/s, algorithm: sliding_window, burst: 5, scope: global }
log: { access: { sample: 1.5, format: xml } }
)"),
      ElementsAre(
          "t.yaml:9:5: clusters[0].discovery: a cluster takes endpoints or discovery, not both",
          "t.yaml:9:23: clusters[0].discovery.dns: missing required key 'port' (for A records)",
          "t.yaml:10:44: clusters[0].health_check.timeout: must not be longer than interval",
          "t.yaml:10:57: clusters[0].health_check.healthy: must be between 1 and 100, got 0",
          "t.yaml:11:37: clusters[0].circuit_breaker.error_ratio: must be greater than 0 and at "
          "most 1, got 0",
          "t.yaml:12:47: clusters[0].outlier_detection.max_ejected_percent: must be between 1 and "
          "100, got 101",
          "t.yaml:14:54: rate_limits[0].burst: applies to algorithms token_bucket and leaky_bucket "
          "only",
          "t.yaml:14:71: rate_limits[0].scope: a global rate limit needs a top-level redis "
          "section",
          "t.yaml:15:26: log.access.sample: must be between 0 and 1, got 1.5",
          "t.yaml:15:39: log.access.format: expected one of json, text, got 'xml'"));
}

// Every key and the three counting algorithms may be global; shaping may not (its queue is on
// one instance).
TEST(Parse, GlobalLimitsTakeAnyKeyButNotShaping) {
  const std::string redis = "redis: { address: 127.0.0.1:6379 }\n";
  EXPECT_THAT(errors_of(kMinimal + R"(rate_limits:
  - { name: a, key: [client_ip, route], rate: 1/s, algorithm: sliding_window, scope: global }
  - { name: b, key: "header:X-Api-Key", rate: 1/s, algorithm: fixed_window, scope: global }
  - { name: c, key: client_ip, rate: 1/s, burst: 3, scope: global }
)" + redis),
              IsEmpty());
  EXPECT_THAT(errors_of(kMinimal + R"(rate_limits:
  - { name: d, rate: 1/s, algorithm: leaky_bucket, scope: global }
)" + redis),
              ElementsAre("t.yaml:10:59: rate_limits[0].scope: global with algorithm leaky_bucket: "
                          "shaping queues are per instance; use token_bucket, sliding_window or "
                          "fixed_window, or scope: local"));
}

TEST(Parse, FutureSectionsFillTheConfig) {
  // So that deleting a line from the support table is all it takes to turn a feature on.
  auto result = parse_config_file(SLUICE_CONFIG_EXAMPLES_DIR "/full.yaml");
  const Config& c = result.config;
  ASSERT_TRUE(c.admin.has_value());
  EXPECT_EQ(c.admin->listen.text, "127.0.0.1:9901");
  ASSERT_EQ(c.listeners.size(), 2u);
  ASSERT_EQ(c.listeners[0].routes.size(), 2u);
  const Route& api = c.listeners[0].routes[0];
  EXPECT_EQ(api.match.host, "api.example.com");
  EXPECT_EQ(api.match.path_prefix, "/v1/");
  EXPECT_EQ(api.cluster, "api");
  EXPECT_EQ(api.rate_limit, "per-client");
  EXPECT_EQ(api.timeouts.request, Duration(15'000));
  EXPECT_TRUE(api.retries.on_connect_failure);
  EXPECT_THAT(api.retries.on_status, ElementsAre(502, 503));
  ASSERT_TRUE(c.listeners[0].routes[1].direct_response.has_value());
  EXPECT_EQ(c.listeners[0].routes[1].direct_response->status, 404);
  EXPECT_EQ(c.listeners[0].routes[1].direct_response->body, "no route\n");
  ASSERT_TRUE(c.listeners[0].tls.has_value());
  EXPECT_THAT(c.listeners[0].tls->certificates[0].sni, ElementsAre("example.com", "*.example.com"));
  EXPECT_EQ(c.listeners[1].rate_limit, "new-connections");
  const Cluster* cluster = c.find_cluster("api");
  ASSERT_NE(cluster, nullptr);
  EXPECT_EQ(cluster->health_check->kind, HealthCheck::Kind::http);
  EXPECT_EQ(cluster->circuit_breaker->half_open_probes, 3);
  EXPECT_EQ(cluster->limits.max_pending, 1000u);
  EXPECT_EQ(cluster->outlier_detection->base_ejection, Duration(30'000));
  const RateLimit* per_client = c.find_rate_limit("per-client");
  ASSERT_NE(per_client, nullptr);
  EXPECT_EQ(per_client->rate.count, 100u);
  EXPECT_EQ(per_client->burst, 50u);
  EXPECT_EQ(c.find_rate_limit("new-connections")->algorithm, RateLimit::Algorithm::sliding_window);
  EXPECT_EQ(c.find_rate_limit("new-connections")->rate.per, Duration(60'000));
  ASSERT_TRUE(c.redis.has_value());
  EXPECT_EQ(c.redis->sync_interval, Duration(50));
}

TEST(Parse, YamlSyntaxErrorIsOneDiagnostic) {
  EXPECT_THAT(errors_of("listeners:\n  - name: [web\n    listen: 1\n"),
              ElementsAre("t.yaml:3:11: invalid YAML: end of sequence flow not found"));
  EXPECT_THAT(errors_of("a: *nowhere\n"),
              ElementsAre("t.yaml:1:4: invalid YAML: the referenced anchor is not defined"));
}

TEST(Parse, EmptyAndOddDocuments) {
  EXPECT_THAT(errors_of(""),
              ElementsAre("t.yaml:1:1: the config is empty: expected a map with at least "
                          "'listeners'"));
  EXPECT_THAT(errors_of("# nothing\n"),
              ElementsAre("t.yaml:1:1: the config is empty: expected a map with at least "
                          "'listeners'"));
  EXPECT_THAT(errors_of("- a\n"), ElementsAre("t.yaml:1:1: expected a map, got a list"));
  EXPECT_THAT(errors_of("workers: auto\n"),
              ElementsAre("t.yaml:1:1: missing required key 'listeners'"));
  EXPECT_THAT(errors_of(kMinimal + "---\nworkers: 1\n"),
              ElementsAre("t.yaml:9:1: expected one YAML document, found a second one"));
}

TEST(Parse, InputsThatHangYamlCppLoadAllDoNotHang) {
  EXPECT_THAT(errors_of(","),
              ElementsAre("t.yaml:1:1: expected one YAML document, found a second one",
                          "t.yaml:1:1: the config is empty: expected a map with at least "
                          "'listeners'"));
}

TEST(Parse, SelfReferencingAliasDoesNotHang) {
  // yaml-cpp builds a cyclic node for this; the schema walk must stay bounded.
  EXPECT_THAT(errors_of("listeners: &a [*a]\n"),
              ElementsAre("t.yaml:1:12: listeners[0]: expected a map, got a list"));
}

TEST(ParseFile, UnreadableFile) {
  auto result = parse_config_file("/nonexistent/sluice.yaml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].to_string(),
            "/nonexistent/sluice.yaml: cannot read the file: No such file or directory");
  result = parse_config_file(SLUICE_CONFIG_EXAMPLES_DIR);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].message, "cannot read the file: it is a directory");
}

TEST(ParseFile, ReadsAndNamesTheFile) {
  auto result = parse_config_file(SLUICE_CONFIG_EXAMPLES_DIR "/default.yaml");
  ASSERT_TRUE(result.ok()) << result.errors[0].to_string();
  EXPECT_EQ(result.config.source_path, SLUICE_CONFIG_EXAMPLES_DIR "/default.yaml");
}

TEST(Diagnostic, Format) {
  EXPECT_EQ((Diagnostic{"a.yaml", 3, 7, "boom"}).to_string(), "a.yaml:3:7: boom");
  EXPECT_EQ((Diagnostic{"a.yaml", 0, 0, "boom"}).to_string(), "a.yaml: boom");
}

}  // namespace
}  // namespace sluice::config
