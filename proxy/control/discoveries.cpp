#include "proxy/control/discoveries.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "config/scalars.hpp"
#include "config/to_json.hpp"
#include "proxy/control/discovery/make_source.hpp"
#include "proxy/core/log.hpp"

namespace sluice::proxy {

Discoveries::Discoveries(control::ControlLoop& loop, std::function<void()> changed)
    : loop_(loop), changed_(std::move(changed)) {}

std::string Discoveries::reconcile(const config::Config& config) {
  struct ToStart {
    std::string cluster;
    std::unique_ptr<discovery::Source> source;
    std::vector<discovery::DiscoveredEndpoint> previous;
  };
  std::vector<ToStart> to_start;
  std::vector<std::string> kept;
  std::map<std::string, Entry> next;
  std::string errors;
  for (const config::Cluster& cluster : config.clusters) {
    // Host names in static endpoints resolve through a source of their own.
    if (!cluster.discovery && !cluster.has_named_endpoints()) continue;
    std::string settings = config::discovery_json_text(cluster);
    auto old = clusters_.find(cluster.name);
    if (old != clusters_.end() && old->second.settings == settings) {
      kept.push_back(cluster.name);  // moved below, once nothing can fail
      continue;
    }
    // New, or its settings changed: a new source, starting from what ran before.
    Entry& entry = next[cluster.name];
    entry.settings = std::move(settings);
    const std::string name = cluster.name;
    entry.discovery = std::make_unique<discovery::ClusterDiscovery>(
        loop_, name, cluster.discovery_guard, [this, name] {
          auto it = clusters_.find(name);
          if (it != clusters_.end()) convert(name, it->second);
          changed_();
        });
    std::string error;
    auto warn = [name](const std::string& line) {
      LOG_WARN("discovery: cluster '%s': %s", name.c_str(), line.c_str());
    };
    ToStart start{
        name,
        cluster.discovery
            ? discovery::make_source(loop_, *entry.discovery, *cluster.discovery, warn, error)
            : discovery::make_named_endpoints_source(loop_, *entry.discovery, cluster),
        {}};
    if (!start.source) {
      errors += "cluster " + cluster.name + ": " + error + "\n";
      continue;
    }
    if (old != clusters_.end()) {
      start.previous = old->second.discovery->endpoints();
      entry.published = old->second.published;
    }
    to_start.push_back(std::move(start));
  }
  if (!errors.empty()) return errors;  // nothing changed: the running sources stay
  for (const std::string& name : kept) next[name] = std::move(clusters_.at(name));
  // Sources of clusters gone, or whose settings changed, stop here with their entries; the
  // new ones start only now, so that an answer given inside start() finds its entry.
  clusters_ = std::move(next);
  for (ToStart& s : to_start) {
    Entry& entry = clusters_.at(s.cluster);
    entry.discovery->start(std::move(s.source), std::move(s.previous));
    convert(s.cluster, entry);
  }
  return {};
}

void Discoveries::convert(const std::string& cluster, Entry& entry) {
  entry.endpoints.clear();
  for (const discovery::DiscoveredEndpoint& e : entry.discovery->endpoints()) {
    config::Parsed<config::Address> address = config::parse_address(e.address);
    if (!address) {
      // endpoint_file and the other sources only deliver literal addresses.
      LOG_ERROR("discovery: cluster '%s': skipping '%s': %s", cluster.c_str(), e.address.c_str(),
                address.error.c_str());
      continue;
    }
    entry.endpoints.push_back(config::Endpoint{std::move(*address.value), e.weight, {}, 0});
  }
}

bool Discoveries::all_answered(std::vector<std::string>* waiting) const {
  bool all = true;
  for (const auto& [name, entry] : clusters_) {
    const discovery::DiscoveryStatus s = entry.discovery->status();
    if (s.has_set || s.errors > 0) continue;
    all = false;
    if (waiting != nullptr) waiting->push_back(name + " (" + s.source + ")");
  }
  return all;
}

const std::vector<config::Endpoint>* Discoveries::endpoints(const std::string& cluster) const {
  auto it = clusters_.find(cluster);
  return it == clusters_.end() ? nullptr : &it->second.endpoints;
}

std::optional<discovery::DiscoveryStatus> Discoveries::status(const std::string& cluster) const {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return std::nullopt;
  return it->second.discovery->status();
}

boost::json::value Discoveries::json(const std::string& cluster) const {
  const std::optional<discovery::DiscoveryStatus> s = status(cluster);
  if (!s) return nullptr;
  boost::json::value held = nullptr;
  if (s->held_removals > 0)
    held = boost::json::object{{"removals", s->held_removals}, {"since", s->held_since}};
  return boost::json::object{{"source", s->kind},           {"watches", s->source},
                             {"version", s->version},       {"stale", s->stale},
                             {"last_error", s->last_error}, {"last_success", s->last_success},
                             {"updates", s->updates},       {"errors", s->errors},
                             {"endpoints", s->endpoints},   {"held", std::move(held)}};
}

std::vector<std::string> Discoveries::take_published_changes() {
  std::vector<std::string> lines;
  for (auto& [name, entry] : clusters_) {
    std::vector<std::string> now;
    for (const config::Endpoint& e : entry.endpoints) now.push_back(e.address.text);
    std::sort(now.begin(), now.end());
    if (now == entry.published) continue;
    const std::set<std::string> before(entry.published.begin(), entry.published.end());
    const std::set<std::string> after(now.begin(), now.end());
    size_t added = 0, removed = 0;
    for (const std::string& a : after) added += !before.contains(a);
    for (const std::string& a : before) removed += !after.contains(a);
    const discovery::DiscoveryStatus status = entry.discovery->status();
    lines.push_back("cluster '" + name + "': " + std::to_string(now.size()) + " endpoints (+" +
                    std::to_string(added) + " -" + std::to_string(removed) + ") from " +
                    status.source + (status.version.empty() ? "" : ", " + status.version));
    entry.published = std::move(now);
  }
  return lines;
}

}  // namespace sluice::proxy
