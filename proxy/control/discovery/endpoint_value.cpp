#include "proxy/control/discovery/endpoint_value.hpp"

#include <arpa/inet.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "config/scalars.hpp"

namespace sluice::proxy::discovery {
namespace {

namespace json = boost::json;

// An integer written as a JSON number or a string of digits; nullopt otherwise.
std::optional<int64_t> integer(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= INT64_MAX) return static_cast<int64_t>(v.get_uint64());
  if (v.is_string()) return config::parse_integer(std::string_view(v.get_string())).value;
  return std::nullopt;
}

EndpointValue error(std::string why) {
  return EndpointValue{std::nullopt, std::move(why)};
}

}  // namespace

std::optional<std::string> join_ip_port(std::string_view ip, uint16_t port) {
  // inet_pton reads a C string: the bytes after a NUL would ride along in the address text.
  if (ip.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string text(ip);
  unsigned char scratch[16];
  if (::inet_pton(AF_INET, text.c_str(), scratch) == 1) return text + ":" + std::to_string(port);
  if (::inet_pton(AF_INET6, text.c_str(), scratch) == 1)
    return "[" + text + "]:" + std::to_string(port);
  return std::nullopt;
}

EndpointValue parse_endpoint_value(std::string_view text) {
  boost::system::error_code ec;
  const json::value root = json::parse(text, ec);
  if (ec) return error("not JSON (" + ec.message() + ")");
  if (!root.is_object()) return error("expected a JSON object with address and port");
  const json::object& o = root.get_object();
  const json::value* address = o.if_contains("address");
  if (!address || !address->is_string() || address->get_string().empty())
    return error("missing \"address\" (a string)");
  const std::string host(address->get_string());
  // The address text names the endpoint (keys, metrics, logs); inet_pton would stop at a NUL.
  if (host.find('\0') != std::string::npos) return error("address: contains a NUL character");
  std::optional<int64_t> port;
  if (const json::value* p = o.if_contains("port")) {
    port = integer(*p);
    if (!port || *port < 1 || *port > 65535) return error("port: expected an integer 1-65535");
  }
  DiscoveredEndpoint endpoint;
  if (const json::value* w = o.if_contains("weight")) {
    const auto weight = integer(*w);
    if (!weight || *weight < 1 || *weight > 65535)
      return error("weight: expected an integer 1-65535");
    endpoint.weight = static_cast<uint32_t>(*weight);
  }
  if (const json::value* m = o.if_contains("metadata"); m && !m->is_object() && !m->is_null())
    return error("metadata: expected an object");
  if (port) {
    const auto joined = join_ip_port(host, static_cast<uint16_t>(*port));
    if (!joined) return error("address '" + host + "' is not an IP address (with port set)");
    endpoint.address = *joined;
  } else {
    // The address carries the port; the config's own address syntax decides.
    const config::Parsed<config::Address> parsed = config::parse_address(host);
    if (!parsed) return error("address '" + host + "': " + parsed.error + " (or set port)");
    endpoint.address = host;
  }
  return EndpointValue{std::move(endpoint), {}};
}

}  // namespace sluice::proxy::discovery
