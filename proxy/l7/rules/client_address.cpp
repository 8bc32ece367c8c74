#include "proxy/l7/rules/client_address.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "config/cidr.hpp"

namespace sluice::proxy::rules {

IpAddress parse_ip(std::string_view text) {
  IpAddress ip;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return ip;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (inet_pton(AF_INET, buf, ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return IpAddress{};
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.bytes.data(), kMapped, 12) == 0) {
    std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
    std::memset(ip.bytes.data() + 4, 0, 12);
    ip.family = AF_INET;
    return ip;
  }
  ip.family = AF_INET6;
  return ip;
}

bool in_cidr(const IpAddress& ip, const config::Cidr& cidr) {
  return config::cidr_contains(cidr, ip.family, ip.bytes.data());
}

bool in_any(const IpAddress& ip, const std::vector<config::Cidr>& cidrs) {
  for (const auto& c : cidrs)
    if (in_cidr(ip, c)) return true;
  return false;
}

bool allowed(const config::AccessControl& access, const IpAddress& ip) {
  if (access.empty()) return true;
  if (ip.family == 0) return false;
  if (in_any(ip, access.deny)) return false;
  return access.allow.empty() || in_any(ip, access.allow);
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "1.2.3.4:5678" -> "1.2.3.4", "[::1]:80" -> "[::1]" (some proxies add the port).
std::string_view without_port(std::string_view s) {
  if (!s.empty() && s.front() == '[') {
    const size_t end = s.find(']');
    return end == std::string_view::npos ? s : s.substr(0, end + 1);
  }
  const size_t colon = s.find(':');
  if (colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos)
    return s.substr(0, colon);  // exactly one ':' is an IPv4 address with a port
  return s;
}

}  // namespace

std::string_view real_client(std::string_view peer, const IpAddress& peer_ip,
                             const std::vector<config::Cidr>& trusted, const http::Head& head,
                             IpAddress* ip) {
  *ip = peer_ip;
  if (trusted.empty() || !in_any(peer_ip, trusted)) return peer;
  std::string_view client = peer;
  // Header fields from the last to the first, each list from its right end.
  for (size_t h = head.headers.size(); h-- > 0;) {
    if (!http::iequals(head.headers[h].name, "x-forwarded-for")) continue;
    std::string_view list = head.headers[h].value;
    while (!list.empty()) {
      const size_t comma = list.rfind(',');
      const std::string_view entry =
          trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(0, comma);
      if (entry.empty()) continue;
      const std::string_view text = without_port(entry);
      const IpAddress hop = parse_ip(text);
      if (hop.family == 0) return client;
      client = text;
      *ip = hop;
      if (!in_any(hop, trusted)) return client;
    }
  }
  return client;
}

}  // namespace sluice::proxy::rules
