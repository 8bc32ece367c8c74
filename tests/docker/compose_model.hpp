// Read-only views of docker/compose.yaml that several checks share. Test thread only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "docker_files.hpp"

namespace sluice::docker_testing {

inline fs::path compose_path() {
  return docker_dir() / "compose.yaml";
}

// A service's volume entry, short ("src:dst[:mode]") or long ({type, source, target}) syntax.
struct Mount {
  bool bind = false;   // a host path (relative to docker/) rather than a named volume
  std::string source;  // host path as written, or the volume name
  std::string target;
};

inline std::vector<Mount> mounts_of(const YAML::Node& service) {
  std::vector<Mount> out;
  const YAML::Node volumes = service["volumes"];
  if (!volumes || !volumes.IsSequence()) return out;
  for (const auto& v : volumes) {
    Mount m;
    if (v.IsScalar()) {
      std::string s = v.as<std::string>();
      size_t first = s.find(':');
      m.source = s.substr(0, first);
      std::string rest = first == std::string::npos ? "" : s.substr(first + 1);
      m.target = rest.substr(0, rest.find(':'));
      m.bind =
          !m.source.empty() && (m.source[0] == '.' || m.source[0] == '/' || m.source[0] == '~');
    } else if (v.IsMap()) {
      m.source = v["source"] ? v["source"].as<std::string>() : "";
      m.target = v["target"] ? v["target"].as<std::string>() : "";
      m.bind = v["type"] && v["type"].as<std::string>() == "bind";
    }
    out.push_back(m);
  }
  return out;
}

// The host path of a bind mount (compose resolves them against the compose file's folder).
inline fs::path host_path(const Mount& m) {
  fs::path p(m.source);
  return p.is_absolute() ? p : (docker_dir() / p).lexically_normal();
}

// The bind mount whose target is `target` or a parent folder of it; nullopt if none.
inline std::optional<fs::path> host_path_of(const YAML::Node& service, const std::string& target) {
  for (const auto& m : mounts_of(service)) {
    if (!m.bind) continue;
    if (target == m.target) return host_path(m);
    if (target.rfind(m.target + "/", 0) == 0)
      return host_path(m) / target.substr(m.target.size() + 1);
  }
  return std::nullopt;
}

// Container ports a service publishes ("8080:8080", "127.0.0.1:9090:9090/tcp", {target: 80}).
inline std::vector<std::string> published_container_ports(const YAML::Node& service) {
  std::vector<std::string> out;
  const YAML::Node ports = service["ports"];
  if (!ports || !ports.IsSequence()) return out;
  for (const auto& p : ports) {
    if (p.IsMap() && p["target"]) {
      out.push_back(p["target"].as<std::string>());
    } else if (p.IsScalar()) {
      std::string s = p.as<std::string>();
      s = s.substr(0, s.find('/'));
      out.push_back(s.substr(s.rfind(':') + 1));
    }
  }
  return out;
}

// The service's static IPv4 address on any network ("" if none).
inline std::string static_ip_of(const YAML::Node& service) {
  const YAML::Node networks = service["networks"];
  if (!networks || !networks.IsMap()) return "";
  for (const auto& n : networks) {
    if (n.second.IsMap() && n.second["ipv4_address"])
      return n.second["ipv4_address"].as<std::string>();
  }
  return "";
}

// Which service has static IP `ip` ("" if none).
inline std::string service_with_ip(const YAML::Node& compose, const std::string& ip) {
  for (const auto& s : compose["services"]) {
    if (static_ip_of(s.second) == ip) return s.first.as<std::string>();
  }
  return "";
}

}  // namespace sluice::docker_testing
