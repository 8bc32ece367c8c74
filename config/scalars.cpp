#include "config/scalars.hpp"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace sluice::config {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Splits "123unit" into 123 and "unit". Fails on an empty number or on overflow.
bool split_count(std::string_view text, uint64_t& count, std::string_view& unit) {
  size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (i == 0) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + i, count);
  if (ec != std::errc() || end != text.data() + i) return false;
  unit = text.substr(i);
  return true;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

Parsed<Duration> parse_duration(std::string_view text) {
  const std::string expected = "expected a duration like 250ms, 2s, 1m or 1h, got " + quoted(text);
  uint64_t count = 0;
  std::string_view unit;
  if (!split_count(text, count, unit)) return Parsed<Duration>::fail(expected);
  uint64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else
    return Parsed<Duration>::fail(expected);
  // A year is far beyond any sensible timeout; the bound keeps arithmetic on it safe.
  constexpr uint64_t kMaxMs = 366ull * 24 * 3'600'000;
  if (count > kMaxMs / scale)
    return Parsed<Duration>::fail("duration " + quoted(text) + " is too long (at most 366 days)");
  return Parsed<Duration>::ok(Duration(static_cast<int64_t>(count * scale)));
}

Parsed<uint64_t> parse_size(std::string_view text) {
  const std::string expected =
      "expected a size like 65536, 512KiB, 10MiB or 1GiB, got " + quoted(text);
  uint64_t count = 0;
  std::string_view unit;
  if (!split_count(text, count, unit)) return Parsed<uint64_t>::fail(expected);
  uint64_t scale = 0;
  if (unit.empty())
    scale = 1;
  else if (unit == "KiB")
    scale = 1ull << 10;
  else if (unit == "MiB")
    scale = 1ull << 20;
  else if (unit == "GiB")
    scale = 1ull << 30;
  else
    return Parsed<uint64_t>::fail(expected);
  constexpr uint64_t kMax = 1ull << 50;  // a petabyte: far beyond any body, safe to multiply
  if (count > kMax / scale) return Parsed<uint64_t>::fail("size " + quoted(text) + " is too large");
  return Parsed<uint64_t>::ok(count * scale);
}

Parsed<Rate> parse_rate(std::string_view text) {
  const std::string expected = "expected a rate like 100/s, 600/min or 10/h, got " + quoted(text);
  uint64_t count = 0;
  std::string_view unit;
  if (!split_count(text, count, unit) || unit.empty() || unit[0] != '/')
    return Parsed<Rate>::fail(expected);
  unit.remove_prefix(1);
  Rate rate;
  if (unit == "s")
    rate.per = Duration(1000);
  else if (unit == "min")
    rate.per = Duration(60'000);
  else if (unit == "h")
    rate.per = Duration(3'600'000);
  else
    return Parsed<Rate>::fail(expected);
  if (count == 0)
    return Parsed<Rate>::fail("rate must be at least 1 per unit, got " + quoted(text));
  // Bounded so that tokens * nanoseconds arithmetic in the limiter cannot overflow.
  if (count > 1'000'000'000)
    return Parsed<Rate>::fail("rate " + quoted(text) +
                              " is too large (at most 1000000000 per unit)");
  rate.count = count;
  return Parsed<Rate>::ok(rate);
}

Parsed<Address> parse_address(std::string_view text) {
  using R = Parsed<Address>;
  const std::string example = " (expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080)";
  // inet_pton reads a C string: a NUL would end the host early and keep the rest as junk.
  if (text.find('\0') != std::string_view::npos)
    return R::fail("an address must not contain a NUL character");
  std::string_view host, port;
  bool bracketed = false;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return R::fail("missing ']' in " + quoted(text) + example);
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest[0] != ':')
      return R::fail("missing ':port' after ']' in " + quoted(text) + example);
    port = rest.substr(1);
    bracketed = true;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return R::fail("missing ':port' in " + quoted(text) + example);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return R::fail("IPv6 address " + quoted(text) + " needs brackets, e.g. [::1]:8080");
  }
  if (host.empty())
    return R::fail("missing host in " + quoted(text) + " (use 0.0.0.0:PORT for every interface)");

  uint64_t port_number = 0;
  std::string_view unit;
  if (port.empty()) return R::fail("missing port in " + quoted(text) + example);
  if (!split_count(port, port_number, unit) || !unit.empty())
    return R::fail("port " + quoted(port) + " is not a number");
  if (port_number < 1 || port_number > 65535)
    return R::fail("port " + std::string(port) + " is out of range (1..65535)");

  Address address;
  address.text = std::string(text);
  const std::string host_str(host);
  if (bracketed) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    if (inet_pton(AF_INET6, host_str.c_str(), &sin6->sin6_addr) != 1)
      return R::fail("invalid IPv6 address " + quoted(host));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port_number));
    address.length = sizeof(sockaddr_in6);
    return R::ok(std::move(address));
  }
  auto* sin = reinterpret_cast<sockaddr_in*>(&address.storage);
  // "localhost" is the one name everyone expects to work; it needs no resolver.
  const std::string numeric = host_str == "localhost" ? "127.0.0.1" : host_str;
  if (inet_pton(AF_INET, numeric.c_str(), &sin->sin_addr) != 1) {
    bool looks_numeric = true;
    for (char c : host_str) looks_numeric = looks_numeric && (is_digit(c) || c == '.');
    if (looks_numeric) return R::fail("invalid IPv4 address " + quoted(host));
    return R::fail("host name " + quoted(host) +
                   " is not supported here: use an IP address or localhost (a cluster's "
                   "endpoints may name hosts)");
  }
  sin->sin_family = AF_INET;
  sin->sin_port = htons(static_cast<uint16_t>(port_number));
  address.length = sizeof(sockaddr_in);
  return R::ok(std::move(address));
}

Parsed<int64_t> parse_integer(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size())
    return Parsed<int64_t>::fail("expected an integer, got " + quoted(text));
  if (ec == std::errc::result_out_of_range)
    return Parsed<int64_t>::fail("integer " + quoted(text) + " is too large");
  return Parsed<int64_t>::ok(value);
}

Parsed<double> parse_number(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value))
    return Parsed<double>::fail("expected a number, got " + quoted(text));
  return Parsed<double>::ok(value);
}

std::string check_name(std::string_view text) {
  if (text.empty()) return "name must not be empty";
  if (text.size() > 64) return "name " + quoted(text) + " is longer than 64 characters";
  for (char c : text) {
    bool ok = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              c == '-' || c == '.';
    if (!ok) return "name " + quoted(text) + " may only contain letters, digits, '_', '-' and '.'";
  }
  return {};
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    bool ok = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    if (!ok || c == '\0') return false;
  }
  return true;
}

std::optional<NamedAddress> parse_named_address(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::string_view host = text.substr(0, colon);
  bool has_letter = false;
  for (char c : host) has_letter = has_letter || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (!has_letter || host == "localhost" || !is_host_name(host, false)) return std::nullopt;
  uint64_t port = 0;
  std::string_view unit;
  if (!split_count(text.substr(colon + 1), port, unit) || !unit.empty() || port < 1 || port > 65535)
    return std::nullopt;
  return NamedAddress{std::string(host), static_cast<uint16_t>(port)};
}

bool is_host_name(std::string_view text, bool allow_wildcard) {
  if (allow_wildcard && text.substr(0, 2) == "*.") text.remove_prefix(2);
  if (text.empty() || text.size() > 253) return false;
  size_t label = 0;
  for (char c : text) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok =
        is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label != 0;
}

}  // namespace sluice::config
