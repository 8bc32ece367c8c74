// Every cluster's discovery (discovery/cluster_discovery.hpp), and the DNS source of each
// cluster whose static endpoints name hosts, kept across reloads: a cluster
// whose discovery settings stay keeps its source, its set and its counters; one whose settings
// changed gets a new source that starts from the old set; a cluster that no longer uses
// discovery stops its source. Hands the snapshot builder each cluster's endpoints as
// config::Endpoint and remembers what was published, for the one log line per change.
// Control thread only.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/discovery/cluster_discovery.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy {

class Discoveries {
 public:
  // `changed` runs whenever a cluster's set changed (from inside a source's handler, or from
  // reconcile when a source answers at once): the caller schedules a publication.
  Discoveries(control::ControlLoop& loop, std::function<void()> changed);

  // After a config was loaded: start, keep or stop each cluster's discovery. "" or why a
  // source could not be made.
  std::string reconcile(const config::Config& config);

  // Every source has answered once, with a set or an error (the clusters not waiting for a
  // first answer); the names of those that have not, in `waiting`.
  bool all_answered(std::vector<std::string>* waiting = nullptr) const;

  // What `cluster` runs: null when it has no discovery (its config endpoints count).
  const std::vector<config::Endpoint>* endpoints(const std::string& cluster) const;
  std::optional<discovery::DiscoveryStatus> status(const std::string& cluster) const;
  // status() for GET /clusters; null for a cluster without discovery.
  boost::json::value json(const std::string& cluster) const;

  // One line per cluster whose published set changed since the last call ("cluster 'api':
  // 3 endpoints (+1 -0), content 9f…"), and remembers the sets as published.
  std::vector<std::string> take_published_changes();

 private:
  struct Entry {
    std::string settings;  // config::discovery_json_text: equal text, same source
    std::unique_ptr<discovery::ClusterDiscovery> discovery;
    std::vector<config::Endpoint> endpoints;  // the discovered set, converted
    std::vector<std::string> published;       // addresses last logged as published
  };
  void convert(const std::string& cluster, Entry& entry);

  control::ControlLoop& loop_;
  std::function<void()> changed_;
  std::map<std::string, Entry> clusters_;
};

}  // namespace sluice::proxy
