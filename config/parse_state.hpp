// Internal to config/: the state one parse threads through the section parsers. Config holds
// no positions, so everything the cross-reference checks (validate.cpp) need to point at is
// kept here beside it. Control thread only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/yaml_reader.hpp"

namespace sluice::config {

struct NamedAt {
  std::string name;
  Field field;
};

struct Reference {
  enum class Kind { cluster, rate_limit } kind;
  std::string name;
  Field field;
  bool from_tcp_listener = false;  // a tcp listener can only hash on the client IP
};

struct ListenAt {
  Address address;
  Field field;
  std::string owner;  // "listener 'web'", "admin"
};

// One file on the way from the main file to the one being read (for `include:`).
struct SourceFile {
  int source = 0;  // Reader's index
  // What its relative `include:` patterns are relative to: "" is the working directory;
  // nullopt (text that came from no file) refuses `include:`.
  std::optional<std::string> dir;
  std::string identity;  // its canonical path; "" for text that came from no file
};

struct ParseState {
  ParseState(std::string file, const ParseOptions& parse_options)
      : reader(std::move(file)), options(parse_options) {}

  Reader reader;
  Config config;
  const ParseOptions& options;

  // includes.cpp: the main file first, the one being read last.
  std::vector<SourceFile> include_chain;
  // Every file read through `include:` (by identity), and where it was included from.
  std::map<std::string, Pos> included;
  // Their bytes, in the order they were read, for the source hash.
  std::vector<std::string> included_texts;
  // Where each section that holds one value (workers, admin, redis...) was set: only one file
  // may set it. The list sections (listeners, clusters, rate_limits) add up instead.
  std::map<std::string, Field> single_sections;
  bool has_listeners = false;

  std::vector<NamedAt> listener_names, cluster_names, rate_limit_names;
  std::vector<ListenAt> listens;
  std::vector<Reference> references;
  // Clusters whose consistent-hash key needs an HTTP request (header, cookie, path, query).
  std::map<std::string, Field> http_hash_keys;
  // Rate limits with `scope: global`, which need `redis`.
  std::vector<Field> global_scopes;
  // False when some entry's name could not be read: then "unknown cluster" would be noise.
  bool cluster_names_complete = true;
  bool rate_limit_names_complete = true;
};

// Reads a whole file ("" on success, else why not, for "cannot read the file: <why>").
std::string read_config_file(const std::string& path, std::string& text);
// One file's text: YAML, then ${...}, then parse_root. The main file is source 0.
void parse_source(ParseState& state, const std::string& text, int source);

// Section parsers. Each takes the field holding its section and fills state.config.
// parse_root reads the main file's root map and every included file's.
void parse_root(ParseState& state, const Field& root);
void parse_listeners(ParseState& state, const Field& field);
// listeners[].tls (parse_tls.cpp); `http`: the listener speaks HTTP (ALPN default, subject header).
Tls parse_tls(ParseState& state, const Field& field, bool http);
void parse_clusters(ParseState& state, const Field& field);
// clusters[].tls (parse_upstream_tls.cpp); `cluster`: its endpoints, parsed before (the SNI
// default).
UpstreamTls parse_upstream_tls(ParseState& state, const Field& field, const Cluster& cluster);
void parse_rate_limits(ParseState& state, const Field& field);
// `rate_limit: name` or `rate_limit: [a, b]` of a listener or route: the first name in `first`,
// the others in `more`, each checked against rate_limits[] later (validate_references).
void parse_rate_limit_references(ParseState& state, const Field& field, std::string& first,
                                 std::vector<std::string>& more, bool from_tcp_listener = false);
void parse_workers(ParseState& state, const Field& field);
void parse_buffers(ParseState& state, const Field& field);
void parse_admin(ParseState& state, const Field& field);
void parse_log(ParseState& state, const Field& field);
void parse_redis(ParseState& state, const Field& field);
// clusters[].discovery.dns, and clusters[].dns for host names in `endpoints` (parse_dns.cpp).
DnsDiscovery parse_dns_discovery(ParseState& state, const Field& field);
DnsDiscovery parse_endpoint_dns(ParseState& state, const Field& field);
// clusters[].discovery's etcd and consul sources (parse_discovery_kv.cpp).
EtcdDiscovery parse_etcd_discovery(ParseState& state, const Field& field);
ConsulDiscovery parse_consul_discovery(ParseState& state, const Field& field);
// Parts of a cluster (parse_health.cpp): its health_check map, and its panic_threshold, panic
// and slow_start keys read from the cluster's own map.
HealthCheck parse_health_check(ParseState& state, const Field& field);
void parse_panic_and_slow_start(ParseState& state, MapReader& cluster_map, Cluster& cluster);
// Traffic policies (parse_policies.cpp): a cluster's sticky_cookie and retry_budget, a
// retries map's backoff, a listener's or route's deadline, a route's fallback (whose cluster
// is recorded in `references`).
StickyCookie parse_sticky_cookie(ParseState& state, const Field& field);
RetryBudget parse_retry_budget(ParseState& state, const Field& field);
RetryBackoff parse_retry_backoff(ParseState& state, const Field& field);
Deadline parse_deadline(ParseState& state, const Field& field);
Fallback parse_fallback(ParseState& state, const Field& field, const Route& route);

// parse_proxy_protocol.cpp
std::optional<ProxyProtocolAccept> parse_proxy_protocol_accept(ParseState& state,
                                                               const Field& field);
ProxyProtocolSend parse_proxy_protocol_send(ParseState& state, const Field& field);

// Request and response rules (parse_rules.cpp), for listeners and routes.
AccessControl parse_access(ParseState& state, const Field& field);
std::vector<Cidr> parse_cidr_list(ParseState& state, const Field& field);
HeaderRules parse_header_rules(ParseState& state, const Field& field);
Redirect parse_redirect(ParseState& state, const Field& field);
Rewrite parse_rewrite(ParseState& state, const Field& field);
// A route's rewrite, headers and access keys; `to_cluster`: the route has a cluster.
void parse_route_rules(ParseState& state, MapReader& route_map, Route& route, bool to_cluster);
// A listener's access, trusted_proxies and headers keys; returns the fields present (a tcp
// listener refuses them).
std::vector<Field> parse_listener_rules(ParseState& state, MapReader& listener_map,
                                        Listener& listener);
// A PCRE2 pattern that compiles; a bad one is reported at its character.
std::optional<std::string> parse_regex(ParseState& state, const Field& field);
void parse_query_matches(ParseState& state, const Field& field, std::vector<QueryMatch>& out);

// Checks that need the whole file: duplicate names and addresses, dangling references.
void validate_references(ParseState& state);

}  // namespace sluice::config
