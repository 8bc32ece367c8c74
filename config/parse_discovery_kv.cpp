// clusters[].discovery.etcd and .consul: the discovery sources that are HTTP services
// holding the endpoints (parse_clusters.cpp's parse_discovery picks which one).
#include "config/parse_state.hpp"

namespace sluice::config {

EtcdDiscovery parse_etcd_discovery(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  EtcdDiscovery source;
  if (auto f = map.require("endpoints")) {
    auto items = r.list(*f);
    if (f->value.IsSequence() && items.empty()) r.error(*f, "needs at least one address");
    for (const auto& item : items)
      if (auto address = r.address(item)) source.endpoints.push_back(*address);
  }
  if (auto f = map.require("prefix")) {
    if (auto prefix = r.string(*f)) {
      if (prefix->empty() || (*prefix)[0] != '/')
        r.error(*f, "an etcd prefix starts with '/', got '" + *prefix + "'");
      source.prefix = *prefix;
    }
  }
  if (auto f = map.get("timeout"))
    if (auto d = r.duration(*f)) source.timeout = *d;
  auto watchdog = map.get("watchdog");
  if (watchdog)
    if (auto d = r.duration(*watchdog)) source.watchdog = *d;
  // The watchdog probes the server with a request that must answer within `timeout`; a
  // shorter watchdog would declare a slow but live server dead.
  if (watchdog && source.watchdog < source.timeout)
    r.error(*watchdog,
            "must not be shorter than timeout (" + std::to_string(source.timeout.count()) + " ms)");
  return source;
}

ConsulDiscovery parse_consul_discovery(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  ConsulDiscovery source;
  if (auto f = map.require("address"))
    if (auto address = r.address(*f)) source.address = *address;
  // Names go into the query string as they are: Consul's service names and tags are DNS-ish
  // ([A-Za-z0-9_.-]), so anything else is a typo rather than something to escape.
  const auto word = [&r](const Field& f, const char* what) -> std::string {
    auto text = r.string(f);
    if (!text) return {};
    const bool good =
        !text->empty() && text->find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == std::string::npos;
    if (!good)
      r.error(f, std::string("expected a Consul ") + what +
                     " (letters, digits, '-', '_', '.'), got '" + *text + "'");
    return *text;
  };
  if (auto f = map.require("service")) source.service = word(*f, "service name");
  if (auto f = map.get("tag")) source.tag = word(*f, "tag");
  if (auto f = map.get("datacenter")) source.datacenter = word(*f, "datacenter");
  if (auto f = map.get("wait")) {
    if (auto d = r.duration(*f)) {
      // Consul caps a blocking query's wait at 10 minutes.
      if (*d > Duration(600'000)) r.error(*f, "Consul waits at most 10m");
      if (*d < Duration(1000)) r.error(*f, "must be at least 1s (Consul counts it in seconds)");
      source.wait = *d;
    }
  }
  if (auto f = map.get("timeout"))
    if (auto d = r.duration(*f)) source.timeout = *d;
  return source;
}

}  // namespace sluice::config
