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

struct ParseState {
  explicit ParseState(std::string file) : reader(std::move(file)) {}

  Reader reader;
  Config config;

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

// Section parsers. Each takes the field holding its section and fills state.config.
void parse_root(ParseState& state, const Field& root);
void parse_listeners(ParseState& state, const Field& field);
void parse_clusters(ParseState& state, const Field& field);
void parse_rate_limits(ParseState& state, const Field& field);
void parse_workers(ParseState& state, const Field& field);
void parse_buffers(ParseState& state, const Field& field);
void parse_admin(ParseState& state, const Field& field);
void parse_log(ParseState& state, const Field& field);
void parse_redis(ParseState& state, const Field& field);

// Checks that need the whole file: duplicate names and addresses, dangling references.
void validate_references(ParseState& state);

}  // namespace sluice::config
