#include "proxy/control/health/check_identity.hpp"

#include <arpa/inet.h>

namespace sluice::proxy::health {

std::string address_key(const config::Address& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address.storage);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (address.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return address.text;  // not a socket address sluice can probe; the text still identifies it
}

std::string spec_key(const config::HealthCheck& spec) {
  std::string key = spec.kind == config::HealthCheck::Kind::tcp ? "tcp" : "http";
  if (spec.kind == config::HealthCheck::Kind::http) {
    // Path and host cannot hold spaces (the parser refuses them), so ' ' separates safely.
    key += " " + spec.http_path + " " + spec.http_host + " ";
    for (const auto& range : spec.http_expect)
      key += std::to_string(range.low) + "-" + std::to_string(range.high) + ",";
  }
  key += " " + std::to_string(spec.interval.count()) + " " + std::to_string(spec.timeout.count()) +
         " " + std::to_string(spec.healthy) + " " + std::to_string(spec.unhealthy) + " " +
         std::to_string(spec.jitter_percent);
  return key;
}

std::string describe_check(const config::HealthCheck& spec) {
  if (spec.kind == config::HealthCheck::Kind::tcp) return "tcp connect";
  return "http GET " + spec.http_path;
}

}  // namespace sluice::proxy::health
