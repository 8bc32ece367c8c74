// DNS settings: clusters[].discovery.dns (a name whose records are the cluster's endpoints)
// and clusters[].dns (how host names written in the cluster's `endpoints` resolve). Both
// share the resolver, TTL and timeout keys.
#include "config/parse_state.hpp"
#include "config/scalars.hpp"

namespace sluice::config {
namespace {

// resolvers, min_ttl, max_ttl, negative_ttl, timeout.
void parse_resolution(Reader& r, MapReader& map, DnsDiscovery& dns) {
  if (auto f = map.get("resolvers")) {
    auto items = r.list(*f);
    if (f->value.IsSequence() && items.empty())
      r.error(*f, "needs at least one address (or leave it out for /etc/resolv.conf)");
    for (const auto& item : items)
      if (auto address = r.address(item)) dns.resolvers.push_back(*address);
  }
  auto duration = [&](const char* key, Duration& into) {
    auto f = map.get(key);
    if (f)
      if (auto d = r.duration(*f)) into = *d;
    return f;
  };
  auto min_ttl = duration("min_ttl", dns.min_ttl);
  auto max_ttl = duration("max_ttl", dns.max_ttl);
  duration("negative_ttl", dns.negative_ttl);
  auto timeout = duration("timeout", dns.timeout);
  if (dns.min_ttl > dns.max_ttl) {
    if (min_ttl)
      r.error(*min_ttl, "must not be longer than max_ttl");
    else
      r.error(*max_ttl, "must not be shorter than min_ttl (1s when not given)");
  }
  // c-ares waits twice as long on its second try; a query that may take minutes would hold
  // every other answer of the control loop's resolver back.
  if (timeout && dns.timeout > Duration(30000)) r.error(*timeout, "must be at most 30s");
}

}  // namespace

DnsDiscovery parse_dns_discovery(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  DnsDiscovery source;
  if (auto f = map.require("name")) {
    if (auto name = r.string(*f)) {
      if (!is_host_name(*name, false)) r.error(*f, "expected a DNS name, got '" + *name + "'");
      source.name = *name;
    }
  }
  if (auto f = map.get("type"))
    if (auto index = r.choice(*f, {"A", "AAAA", "SRV"}))
      source.type = *index == 0 ? "A" : *index == 1 ? "AAAA" : "SRV";
  auto port = map.get("port");
  if (port)
    if (auto n = r.integer(*port, 1, 65535)) source.port = static_cast<uint16_t>(*n);
  // SRV records carry their ports; A and AAAA records do not.
  if (source.type == "SRV" && port)
    r.error(port->key_pos(), port->path + ": SRV records carry the port; remove it");
  if (source.type != "SRV" && !port && map.valid())
    r.error(field.pos(),
            field.path + ": missing required key 'port' (for " + source.type + " records)");
  parse_resolution(r, map, source);
  return source;
}

DnsDiscovery parse_endpoint_dns(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  DnsDiscovery dns;
  // The port is each endpoint's own; SRV would replace the endpoints with its targets, which
  // is what `discovery: {dns: {type: SRV}}` is for.
  if (auto f = map.get("type"))
    if (auto index = r.choice(*f, {"A", "AAAA"})) dns.type = *index == 0 ? "A" : "AAAA";
  parse_resolution(r, map, dns);
  return dns;
}

}  // namespace sluice::config
