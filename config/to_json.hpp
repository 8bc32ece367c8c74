// The running Config as JSON, for the admin's GET /config and for logs. Keys mirror the YAML
// schema (docs/config.md) so a reader can map one onto the other; every key is always present,
// with null for "not set" and [] for an empty list, so consumers see one stable shape.
// Durations and rates are written in the config's own notation ("250ms", "2s", "100/s"),
// addresses as written. Secrets (TLS private key paths today) are replaced by "<redacted>".
// Pure functions of their arguments: any thread may call them.
#pragma once

#include <string>

#include "config/config.hpp"

namespace sluice::config {

std::string to_json(const Config& config);

// A cluster's `discovery` settings (source and guard) as compact JSON, "null" without
// discovery: equal text, same source (a reload keeps a source whose text stays).
std::string discovery_json_text(const Cluster& cluster);

// "250ms", "2s", "5m", "1h": the largest unit that holds the value exactly, so the text
// parses back to the same Duration.
std::string format_duration(Duration d);

// "100/s", "600/min", "10/h".
std::string format_rate(const Rate& rate);

// "client_ip", "route", "global", "header:X-Api-Key": a rate limit's key as the config writes it.
std::string rate_limit_key_text(const RateLimitKey& key);

// "round_robin", "p2c", ...: the name the config uses for a balancer type.
const char* balancer_type_name(BalancerType type);

}  // namespace sluice::config
