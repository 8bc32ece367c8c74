// Checks that need the whole file at once: duplicate names, listen addresses that collide,
// references to clusters and rate limits that do not exist, and pairings that cannot work; and
// defaults that depend on other sections (a TLS cluster's ALPN).
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <tuple>

#include "config/parse_state.hpp"

namespace sluice::config {
namespace {

// How a message at `from` points at `at`: "line 3:5", or "conf.d/a.yaml:3:5" in another file.
std::string at_line(const Reader& r, const Field& at, const Field& from) {
  return r.place(at.pos(), from.pos());
}

void check_unique(Reader& r, const std::vector<NamedAt>& names, const std::string& what) {
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (names[i].name != names[j].name) continue;
      r.error(names[i].field, "duplicate " + what + " name '" + names[i].name + "' (first at " +
                                  at_line(r, names[j].field, names[i].field) + ")");
      break;
    }
  }
}

uint16_t port_of(const Address& a) {
  if (a.family() == AF_INET) return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port;
  return reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_port;
}

bool is_wildcard(const Address& a) {
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr == INADDR_ANY;
  const in6_addr& addr = reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr;
  return std::memcmp(&addr, &in6addr_any, sizeof addr) == 0;
}

bool same_ip(const Address& a, const Address& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(&b.storage)->sin_addr.s_addr;
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr,
                     &reinterpret_cast<const sockaddr_in6*>(&b.storage)->sin6_addr,
                     sizeof(in6_addr)) == 0;
}

// Two sockets on one port collide when they are the same address, when either is the wildcard
// of its family, or when one is [::] (dual-stack, so it takes IPv4 too). SO_REUSEPORT would
// let them bind anyway and split connections between them, which is never what was meant.
bool collide(const Address& a, const Address& b) {
  if (port_of(a) != port_of(b)) return false;
  if (a.family() == b.family()) return same_ip(a, b) || is_wildcard(a) || is_wildcard(b);
  return (a.family() == AF_INET6 && is_wildcard(a)) || (b.family() == AF_INET6 && is_wildcard(b));
}

void check_listens(Reader& r, const std::vector<ListenAt>& listens) {
  // Sections are parsed in a fixed order, not file order; "first" must mean first in the file
  // (and included files come after the file that includes them, in the order they are read).
  // (Indices are sorted, not the entries: see Field on why YAML nodes are never assigned.)
  std::vector<size_t> order(listens.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    Pos pa = listens[a].field.pos(), pb = listens[b].field.pos();
    return std::tie(pa.source, pa.line, pa.column) < std::tie(pb.source, pb.line, pb.column);
  });
  for (size_t i = 0; i < order.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const ListenAt& now = listens[order[i]];
      const ListenAt& first = listens[order[j]];
      if (!collide(now.address, first.address)) continue;
      const bool exact = same_ip(now.address, first.address);
      r.error(now.field,
              "address " + now.address.text +
                  (exact ? " is already used by " : " overlaps " + first.address.text + " of ") +
                  first.owner + " (" + at_line(r, first.field, now.field) + ")");
      break;
    }
  }
}

bool is_loopback(const Address& a) {
  if (a.family() == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr) >> 24) == 127;
  const in6_addr& addr = reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr;
  return std::memcmp(&addr, &in6addr_loopback, sizeof addr) == 0;
}

// The admin API has no authentication and POST /drain stops the proxy: anywhere but loopback it
// is one firewall rule away from the world. Allowed (containers need it to be scraped), but said.
void warn_about_admin(ParseState& state) {
  for (const auto& l : state.listens) {
    if (l.owner != "admin" || is_loopback(l.address)) continue;
    const Pos pos = l.field.pos();
    state.config.warnings.push_back(
        {pos.line, pos.column,
         "admin.listen: " + l.address.text +
             " is not a loopback address; the admin API has no authentication and can reload "
             "and drain sluice: keep this port off public networks",
         state.reader.file(pos.source)});
  }
}

bool defined(const std::vector<NamedAt>& names, const std::string& name) {
  for (const auto& n : names)
    if (n.name == name) return true;
  return false;
}

void check_reference(Reader& r, const Reference& ref, const std::vector<NamedAt>& names,
                     const char* what) {
  if (defined(names, ref.name)) return;
  std::vector<std::string> candidates;
  for (const auto& n : names) candidates.push_back(n.name);
  std::string message = "unknown " + std::string(what) + " '" + ref.name + "'";
  if (std::string guess = closest(ref.name, candidates); !guess.empty())
    message += " (did you mean '" + guess + "'?)";
  else if (candidates.empty())
    message += std::string(" (no ") + what + "s are defined)";
  r.error(ref.field, message);
}

}  // namespace

void validate_references(ParseState& state) {
  Reader& r = state.reader;
  check_unique(r, state.listener_names, "listener");
  check_unique(r, state.cluster_names, "cluster");
  check_unique(r, state.rate_limit_names, "rate limit");
  check_listens(r, state.listens);
  warn_about_admin(state);

  for (const auto& ref : state.references) {
    if (ref.kind == Reference::Kind::cluster) {
      if (state.cluster_names_complete) check_reference(r, ref, state.cluster_names, "cluster");
      auto key = state.http_hash_keys.find(ref.name);
      if (ref.from_tcp_listener && key != state.http_hash_keys.end())
        r.error(ref.field, "cluster '" + ref.name + "' hashes on " + key->second.value.Scalar() +
                               " (" + at_line(r, key->second, ref.field) +
                               "), which a tcp connection does not have; use key: client_ip");
    } else if (state.rate_limit_names_complete) {
      check_reference(r, ref, state.rate_limit_names, "rate limit");
      const RateLimit* limit = state.config.find_rate_limit(ref.name);
      if (ref.from_tcp_listener && limit != nullptr &&
          limit->algorithm == RateLimit::Algorithm::leaky_bucket)
        r.error(ref.field, "rate limit '" + ref.name +
                               "' is a leaky_bucket, which queues requests; a tcp listener "
                               "admits or refuses connections");
    }
  }
  // A TLS cluster offers http/1.1 by ALPN when an http listener routes to it, nothing when only
  // tcp listeners relay to it (their bytes need not be HTTP).
  for (Cluster& cluster : state.config.clusters) {
    if (!cluster.tls || cluster.tls->alpn_set) continue;
    for (const auto& ref : state.references)
      if (ref.kind == Reference::Kind::cluster && ref.name == cluster.name &&
          !ref.from_tcp_listener) {
        cluster.tls->alpn = {"http/1.1"};
        break;
      }
  }
  if (!state.config.redis)
    for (const auto& scope : state.global_scopes)
      r.error(scope, "a global rate limit needs a top-level redis section");
}

}  // namespace sluice::config
