#include "proxy/control/admin/admin_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace sluice::proxy::admin {
namespace {

// The host and port of a Host value or of an Origin after its scheme.
struct Authority {
  std::string host;  // canonical: config::canonical_admin_host
  int port = -1;     // -1: none given
};

std::optional<Authority> parse_authority(std::string_view text) {
  std::string_view host = text;
  std::string_view port;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(0, close + 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
  } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  Authority a;
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    a.port = std::stoi(std::string(port));
    if (a.port > 65535) return std::nullopt;
  }
  a.host = config::canonical_admin_host(host);
  if (a.host.empty()) return std::nullopt;
  return a;
}

// An IP address (canonical text) as IPv4 when it is one or maps one; family 0 for a name.
struct Ip {
  int family = 0;
  in_addr v4{};
  in6_addr v6{};
};

Ip ip_of(const std::string& host) {
  Ip ip;
  if (::inet_pton(AF_INET, host.c_str(), &ip.v4) == 1) {
    ip.family = AF_INET;
  } else if (::inet_pton(AF_INET6, host.c_str(), &ip.v6) == 1) {
    ip.family = AF_INET6;
    if (IN6_IS_ADDR_V4MAPPED(&ip.v6)) {
      std::memcpy(&ip.v4, &ip.v6.s6_addr[12], 4);
      ip.family = AF_INET;
    }
  }
  return ip;
}

Ip ip_of(const config::Address& a) {
  Ip ip;
  ip.family = a.family();
  if (a.family() == AF_INET)
    ip.v4 = reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr;
  else
    ip.v6 = reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr;
  return ip;
}

bool is_loopback(const Ip& ip) {
  if (ip.family == AF_INET) return (ntohl(ip.v4.s_addr) >> 24) == 127;
  return ip.family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&ip.v6);
}

bool is_wildcard(const Ip& ip) {
  if (ip.family == AF_INET) return ip.v4.s_addr == htonl(INADDR_ANY);
  return ip.family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&ip.v6);
}

bool same(const Ip& a, const Ip& b) {
  if (a.family != b.family) return false;
  if (a.family == AF_INET) return a.v4.s_addr == b.v4.s_addr;
  return std::memcmp(&a.v6, &b.v6, sizeof a.v6) == 0;
}

bool host_names_listener(const std::string& host, const AdminListen& listen,
                         const std::vector<std::string>& allowed_hosts) {
  if (std::find(allowed_hosts.begin(), allowed_hosts.end(), host) != allowed_hosts.end())
    return true;
  const Ip own = ip_of(listen.address);
  // Another machine's page can only name a wildcard or a loopback listener by address or as
  // localhost (which browsers resolve to loopback themselves, never through DNS).
  const bool local = is_loopback(own) || is_wildcard(own);
  if (host == "localhost") return local;
  const Ip ip = ip_of(host);
  if (ip.family == 0) return false;  // a name: only admin.allowed_hosts vouches for one
  if (is_wildcard(own)) return true;
  if (is_loopback(own)) return is_loopback(ip);
  return same(ip, own);
}

AdminResponse forbidden(std::string why) {
  return text_response(403, "forbidden: " + std::move(why) + "\n");
}

}  // namespace

std::optional<AdminResponse> refuse_foreign(const AdminRequest& request, const AdminListen& listen,
                                            const std::vector<std::string>& allowed_hosts) {
  const std::string* host_value = nullptr;
  size_t hosts = 0;
  for (const auto& [name, value] : request.headers) {
    if (::strcasecmp(name.c_str(), "Host") != 0) continue;
    ++hosts;
    host_value = &value;
  }
  std::optional<Authority> host;
  if (hosts == 1) host = parse_authority(*host_value);
  // HTTP/1.0 may leave Host out (`nc`, old probes), and no browser does: that is let through.
  // HTTP/1.1 must send it (RFC 9112 3.2).
  if (hosts > 1 || (hosts == 1 && !host) || (hosts == 0 && request.version >= 11))
    return text_response(400,
                         "bad request: the admin API needs one Host header naming it, "
                         "like 127.0.0.1:" +
                             std::to_string(listen.port) + "\n");
  if (host && (!host_names_listener(host->host, listen, allowed_hosts) ||
               (host->port != -1 && host->port != listen.port)))
    return forbidden("Host '" + *host_value + "' does not name this admin listener (" +
                     listen.address.text +
                     "); a name other than its address needs admin.allowed_hosts");
  // An Origin without a port is on port 80; a Host without one is taken for the listener's.
  for (const auto& [name, value] : request.headers) {
    if (::strcasecmp(name.c_str(), "Origin") != 0) continue;
    constexpr std::string_view kScheme = "http://";
    std::optional<Authority> origin;
    if (value.size() > kScheme.size() && ::strncasecmp(value.c_str(), "http://", 7) == 0)
      origin = parse_authority(std::string_view(value).substr(kScheme.size()));
    if (!origin || !host || origin->host != host->host ||
        (origin->port == -1 ? 80 : origin->port) != listen.port)
      return forbidden("cross-origin request (Origin: " + value +
                       "); the admin API does not serve web pages");
  }
  return std::nullopt;
}

std::optional<AdminResponse> refuse_unmarked(const AdminRequest& request,
                                             const AdminListen& listen) {
  if (request.header(kAdminHeader) != nullptr) return std::nullopt;
  const std::string* host = request.header("Host");
  return forbidden(request.method + " " + request.path + " needs the header " + kAdminHeader +
                   ", which a web page cannot send: curl -X " + request.method + " -H '" +
                   kAdminHeader + ": 1' http://" + (host ? *host : listen.address.text) +
                   request.path);
}

}  // namespace sluice::proxy::admin
