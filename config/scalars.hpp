// Parsers for the scalar notations used in the config: durations, rates, addresses, numbers
// and names. Pure functions of a string, no YAML, so they are easy to test and to fuzz.
// Any thread may call them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace sluice::config {

// Either a value or the reason the text is not one. The reason is a sentence fragment
// ("expected a duration like 250ms, 2s, 1m or 1h") that callers prefix with the key path.
template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;

  static Parsed ok(T v) { return Parsed{std::move(v), {}}; }
  static Parsed fail(std::string e) { return Parsed{std::nullopt, std::move(e)}; }
  explicit operator bool() const { return value.has_value(); }
};

// "250ms", "2s", "1m", "1h": a whole number and a unit; no spaces, no fractions.
Parsed<Duration> parse_duration(std::string_view text);

// "100/s", "600/min", "10/h": a count >= 1 per second, minute or hour.
Parsed<Rate> parse_rate(std::string_view text);
// "1048576", "512KiB", "10MiB", "1GiB" -> bytes (binary units, so nothing is ambiguous).
Parsed<uint64_t> parse_size(std::string_view text);

// "127.0.0.1:8080", "[::1]:8080", "localhost:8080" (which means 127.0.0.1). Other host names
// are rejected: resolving them is the job of DNS discovery, not of the parser.
Parsed<Address> parse_address(std::string_view text);

// A decimal integer, optionally signed; no leading '+', no spaces, no hex.
Parsed<int64_t> parse_integer(std::string_view text);

// A finite decimal number ("0.5", "1", "1.25e0").
Parsed<double> parse_number(std::string_view text);

// Names of listeners, clusters and rate limits become metric labels and admin URL segments, so
// they are kept to [A-Za-z0-9_.-], 1..64 characters. Returns an error message or empty.
std::string check_name(std::string_view text);

// An HTTP header (or cookie, query parameter) name: RFC 9110 token characters.
bool is_token(std::string_view text);

// "api.internal:8080": a DNS name and a port, for endpoints resolved at run time. Fails (with
// nothing to say) for anything parse_address takes or rejects on its own: IP literals,
// localhost, a bad port.
struct NamedAddress {
  std::string host;
  uint16_t port = 0;
};
std::optional<NamedAddress> parse_named_address(std::string_view text);

// A DNS name ("api.example.com"), or a wildcard over one ("*.example.com") when
// `allow_wildcard`; letters, digits, '-' and '.', no empty labels.
bool is_host_name(std::string_view text, bool allow_wildcard);

}  // namespace sluice::config
