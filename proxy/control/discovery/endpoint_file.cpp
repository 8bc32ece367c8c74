#include "proxy/control/discovery/endpoint_file.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>

#include "config/scalars.hpp"

namespace sluice::proxy::discovery {
namespace {

// The first problem found, with its position; parsing stops there.
struct Failure {
  YAML::Mark mark;
  std::string message;
};

std::string scalar(const YAML::Node& n) {
  return n.IsScalar() ? n.Scalar() : std::string();
}

// "10.0.0.7:8080" or, with a separate port, "10.0.0.7" + 8080 ("[v6]:port" for IPv6).
std::string join(const std::string& address, uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos && address.front() != '[';
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

bool has_port(const std::string& address) {
  if (address.starts_with('[')) return address.find("]:") != std::string::npos;
  return std::count(address.begin(), address.end(), ':') == 1;
}

// The config's own integer syntax, so a port or weight reads the same in both files.
std::optional<int64_t> integer(const YAML::Node& n) {
  return config::parse_integer(scalar(n)).value;
}

std::optional<Failure> read_entry(const YAML::Node& item, DiscoveredEndpoint& out) {
  std::string address;
  std::optional<int64_t> port;
  if (item.IsScalar()) {
    address = item.Scalar();
  } else if (item.IsMap()) {
    for (const auto& kv : item) {
      const std::string key = scalar(kv.first);
      const YAML::Node& value = kv.second;
      if (key == "address") {
        if (!value.IsScalar()) return Failure{value.Mark(), "address: expected a string"};
        address = value.Scalar();
      } else if (key == "port") {
        port = integer(value);
        if (!port || *port < 1 || *port > 65535)
          return Failure{value.Mark(), "port: expected an integer from 1 to 65535"};
      } else if (key == "weight") {
        const auto w = integer(value);
        if (!w || *w < 1 || *w > 65535)
          return Failure{value.Mark(), "weight: expected an integer from 1 to 65535"};
        out.weight = static_cast<uint32_t>(*w);
      } else if (key == "metadata") {
        if (!value.IsMap()) return Failure{value.Mark(), "metadata: expected a map"};
      } else {
        return Failure{kv.first.Mark(), "unknown key '" + key +
                                            "' (an endpoint has address, port, weight, metadata)"};
      }
    }
    if (address.empty()) return Failure{item.Mark(), "endpoint without an address"};
  } else {
    return Failure{item.Mark(), "an endpoint is an \"ip:port\" string or a map"};
  }
  if (has_port(address)) {
    if (port) return Failure{item.Mark(), "address " + address + " has a port and port is set"};
  } else if (port) {
    address = join(address, static_cast<uint16_t>(*port));
  } else {
    return Failure{item.Mark(), "address " + address + " needs a port (\"ip:port\" or port:)"};
  }
  const config::Parsed<config::Address> parsed = config::parse_address(address);
  if (!parsed) return Failure{item.Mark(), parsed.error};
  out.address = address;
  return std::nullopt;
}

std::string where(const std::string& path, const YAML::Mark& mark) {
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
}

}  // namespace

EndpointFile parse_endpoint_file(std::string_view text, const std::string& path) {
  EndpointFile out;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    out.error = path + ": empty (a file being written, or truncated?); an empty set is []";
    return out;
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    out.error = where(path, e.mark) + e.msg;
    return out;
  }
  YAML::Node list = root;
  if (root.IsMap()) {
    for (const auto& kv : root)
      if (scalar(kv.first) != "endpoints") {
        out.error = where(path, kv.first.Mark()) + "unknown key '" + scalar(kv.first) +
                    "' (the file is a list of endpoints, or endpoints: [...])";
        return out;
      }
    list = root["endpoints"];
  }
  if (!list.IsSequence()) {
    out.error = where(path, list.Mark()) + "expected a list of endpoints";
    return out;
  }
  for (const YAML::Node& item : list) {
    DiscoveredEndpoint e;
    if (std::optional<Failure> f = read_entry(item, e)) {
      out.error = where(path, f->mark) + f->message;
      out.endpoints.clear();
      return out;
    }
    const bool duplicate =
        std::any_of(out.endpoints.begin(), out.endpoints.end(),
                    [&](const DiscoveredEndpoint& d) { return d.address == e.address; });
    if (duplicate) {
      out.error = where(path, item.Mark()) + "duplicate endpoint " + e.address;
      out.endpoints.clear();
      return out;
    }
    out.endpoints.push_back(std::move(e));
  }
  return out;
}

}  // namespace sluice::proxy::discovery
