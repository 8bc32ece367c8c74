#include "proxy/metrics/registry.hpp"

namespace sluice::proxy::metrics {

namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The live object under `key`, or a new one made by `make` (which replaces an expired entry).
template <class Map, class Key, class Make>
auto find_or_make(Map& map, const Key& key, Make make) {
  auto it = map.find(key);
  if (it != map.end()) {
    if (auto live = it->second.lock()) return live;
  }
  auto made = make();
  if (it != map.end()) {
    it->second = made;
  } else {
    map.emplace(key, made);
  }
  return made;
}

// Locks every entry that is still held and erases the rest.
template <class Map, class Out>
void collect(Map& map, Out& out) {
  out.reserve(map.size());
  for (auto it = map.begin(); it != map.end();) {
    if (auto live = it->second.lock()) {
      out.push_back(std::move(live));
      ++it;
    } else {
      it = map.erase(it);
    }
  }
}

}  // namespace

Registry::Registry(unsigned workers) : workers_(workers) {
  set_start_time(std::chrono::system_clock::now());
}

std::shared_ptr<ListenerStats> Registry::listener(const std::string& name,
                                                  std::string_view protocol) {
  auto stats = find_or_make(listeners_, name, [&] {
    return std::make_shared<ListenerStats>(name, std::string(protocol), workers_);
  });
  if (stats->protocol != protocol) stats->protocol = protocol;
  return stats;
}

std::shared_ptr<RouteStats> Registry::route(const std::string& listener, const std::string& route,
                                            const std::string& cluster) {
  return find_or_make(routes_, RouteKey{listener, route, cluster}, [&] {
    return std::make_shared<RouteStats>(listener, route, cluster, workers_);
  });
}

std::shared_ptr<ClusterStats> Registry::cluster(const std::string& name) {
  return find_or_make(clusters_, name,
                      [&] { return std::make_shared<ClusterStats>(name, workers_); });
}

std::shared_ptr<RateLimitStats> Registry::rate_limit(const std::string& name) {
  return find_or_make(rate_limits_, name,
                      [&] { return std::make_shared<RateLimitStats>(name, workers_); });
}

void Registry::set_start_time(std::chrono::system_clock::time_point t) {
  process_.start_time_seconds = unix_seconds(t);
}

void Registry::config_loaded(std::string hash, std::chrono::system_clock::time_point when) {
  process_.config_hash = std::move(hash);
  process_.last_reload_success_seconds = unix_seconds(when);
}

void Registry::reload_succeeded(std::string hash, std::chrono::system_clock::time_point when) {
  ++process_.reloads_succeeded;
  config_loaded(std::move(hash), when);
}

void Registry::set_access_log_counts(uint64_t lines, uint64_t dropped) {
  process_.access_log_lines = lines;
  process_.access_log_dropped = dropped;
}

Registry::Live Registry::live() const {
  Live out;
  collect(listeners_, out.listeners);
  collect(routes_, out.routes);
  collect(clusters_, out.clusters);
  collect(rate_limits_, out.rate_limits);
  return out;
}

size_t Registry::tracked() const noexcept {
  return listeners_.size() + routes_.size() + clusters_.size() + rate_limits_.size();
}

}  // namespace sluice::proxy::metrics
