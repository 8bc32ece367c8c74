// The registry of stats objects, keyed by stable names.
//
// Stats live outside the snapshot: the snapshot builder asks the registry for the stats of
// each listener, route, cluster and rate-limit policy, and the snapshot holds the shared_ptrs.
// Asking again for the same key returns the same object while anyone still holds it, so a
// reload that keeps a name keeps counting in the same counters (Prometheus counters must not
// go back to zero on reload). The builder must therefore ask for the new snapshot's stats
// while the old snapshot is still alive. Once every holder is gone the entry is pruned at the
// next scrape and its series disappear.
//
// Thread safety: every Registry method is for the control thread only (no lock inside).
// Workers touch only `per_worker.at(their index)` of the stats objects they were handed; the
// labels of a stats object are read by the control thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "proxy/metrics/counters.hpp"

namespace sluice::proxy::metrics {

struct ListenerStats {
  ListenerStats(std::string name, std::string protocol, unsigned workers)
      : name(std::move(name)), protocol(std::move(protocol)), per_worker(workers) {}
  const std::string name;
  // Not part of the key: a reload may change a listener's protocol without resetting its
  // counters (two objects with one listener label would be duplicate series). Control thread.
  std::string protocol;
  PerWorker<ListenerCounters> per_worker;
  // Client connections open on the listener, all workers together: what its
  // max_connections is checked against at every accept (one atomic the workers
  // share; the per-worker `active` gauges are for reading, not deciding).
  std::atomic<int64_t> open{0};
  // TLS listeners only (control thread): whether it terminates TLS, and when each of its
  // certificates expires (cert file, unix time), as last built.
  bool tls = false;
  std::vector<std::pair<std::string, double>> certificate_expiry;
};

// route "" counts requests that matched no route; cluster "" counts direct responses.
struct RouteStats {
  RouteStats(std::string listener, std::string route, std::string cluster, unsigned workers)
      : listener(std::move(listener)),
        route(std::move(route)),
        cluster(std::move(cluster)),
        per_worker(workers) {}
  const std::string listener;
  const std::string route;
  const std::string cluster;
  PerWorker<RouteCounters> per_worker;
};

struct ClusterStats {
  ClusterStats(std::string name, unsigned workers) : name(std::move(name)), per_worker(workers) {}
  const std::string name;
  PerWorker<ClusterCounters> per_worker;
  bool tls = false;  // the cluster speaks TLS to its endpoints, as last built (control thread)
};

struct RateLimitStats {
  RateLimitStats(std::string name, unsigned workers) : name(std::move(name)), per_worker(workers) {}
  const std::string name;
  PerWorker<RateLimitCounters> per_worker;
  // A global limit's keys tracked on this instance, set by the control thread before a render;
  // -1 for a local limit (no series).
  std::atomic<int64_t> global_keys{-1};
};

// Values about the process rather than the traffic; set by the control thread.
// The standard process_* series (what Prometheus' client libraries export), read by the
// caller from the kernel just before render().
struct ProcessUsage {
  double cpu_seconds = 0;  // user + system, all threads
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;  // the soft RLIMIT_NOFILE
};

// The Redis sync of global limits (RedisSyncStats), when Redis is configured.
struct RedisSyncFigures {
  uint64_t rounds = 0;  // completed rounds
  uint64_t errors = 0;  // failed connects, rounds and scripts
  uint64_t keys = 0;    // per-key entries sent
  double last_round_seconds = 0;
};

struct ProcessInfo {
  std::string version;
  double start_time_seconds = 0;  // unix time
  std::string config_hash;
  uint64_t reloads_succeeded = 0;
  uint64_t reloads_failed = 0;
  double last_reload_success_seconds = 0;  // unix time; 0 until a config was loaded
  uint64_t access_log_lines = 0;
  uint64_t access_log_dropped = 0;
  std::optional<ProcessUsage> usage;           // none: the process_* series are left out
  std::optional<bool> redis_up;                // none: no Redis configured (no series)
  std::optional<RedisSyncFigures> redis_sync;  // none: no global limit yet (no series)
  bool restart_pending = false;  // a reload left restart-only keys at their old values
  // Active health checks by outcome ("ok", "refused", ...) and verdict changes by the state
  // entered ("healthy", "unhealthy"); empty: no check configured (no series).
  std::vector<std::pair<std::string, uint64_t>> health_checks;
  std::vector<std::pair<std::string, uint64_t>> health_transitions;
};

class Registry {
 public:
  static constexpr size_t kDefaultEndpointSeriesCap = 1000;

  // The worker count is fixed for the process: every stats object gets that many slots.
  // The start time defaults to construction, which is close enough to process start.
  explicit Registry(unsigned workers);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  unsigned workers() const noexcept { return workers_; }

  std::shared_ptr<ListenerStats> listener(const std::string& name, std::string_view protocol);
  std::shared_ptr<RouteStats> route(const std::string& listener, const std::string& route,
                                    const std::string& cluster);
  std::shared_ptr<ClusterStats> cluster(const std::string& name);
  std::shared_ptr<RateLimitStats> rate_limit(const std::string& name);

  void set_build_version(std::string version) { process_.version = std::move(version); }
  void set_start_time(std::chrono::system_clock::time_point t);
  // The first load: sets the hash and the last-success time without counting a reload.
  void config_loaded(std::string hash, std::chrono::system_clock::time_point when);
  void reload_succeeded(std::string hash, std::chrono::system_clock::time_point when);
  void reload_failed() { ++process_.reloads_failed; }
  void set_restart_pending(bool pending) { process_.restart_pending = pending; }
  void set_health_checks(std::vector<std::pair<std::string, uint64_t>> by_outcome,
                         std::vector<std::pair<std::string, uint64_t>> transitions) {
    process_.health_checks = std::move(by_outcome);
    process_.health_transitions = std::move(transitions);
  }
  // The access log owns these counters; the caller copies them in just before render().
  void set_access_log_counts(uint64_t lines, uint64_t dropped);
  // The same for the process' CPU, memory and descriptors.
  void set_process_usage(const ProcessUsage& usage) { process_.usage = usage; }
  // Whether the Redis of global limits answers (none: no Redis configured).
  void set_redis_up(std::optional<bool> up) { process_.redis_up = up; }
  void set_redis_sync(std::optional<RedisSyncFigures> figures) { process_.redis_sync = figures; }
  const ProcessInfo& process() const noexcept { return process_; }

  // Cap on endpoints exported (each one is a handful of series): discovery can hand a
  // cluster thousands of endpoints, and a scrape must stay bounded.
  void set_endpoint_series_cap(size_t cap) noexcept { endpoint_cap_ = cap; }
  size_t endpoint_series_cap() const noexcept { return endpoint_cap_; }

  // What is alive now, in key order, for render(). Prunes entries nobody holds any more.
  struct Live {
    std::vector<std::shared_ptr<const ListenerStats>> listeners;
    std::vector<std::shared_ptr<const RouteStats>> routes;
    std::vector<std::shared_ptr<const ClusterStats>> clusters;
    std::vector<std::shared_ptr<const RateLimitStats>> rate_limits;
  };
  Live live() const;

  // Entries kept (alive or not yet pruned); for tests and the admin page.
  size_t tracked() const noexcept;

 private:
  using RouteKey = std::tuple<std::string, std::string, std::string>;

  const unsigned workers_;
  size_t endpoint_cap_ = kDefaultEndpointSeriesCap;
  ProcessInfo process_;
  // Pruning is bookkeeping, not state a reader could observe, so live() may do it while const.
  mutable std::map<std::string, std::weak_ptr<ListenerStats>, std::less<>> listeners_;
  mutable std::map<RouteKey, std::weak_ptr<RouteStats>> routes_;
  mutable std::map<std::string, std::weak_ptr<ClusterStats>, std::less<>> clusters_;
  mutable std::map<std::string, std::weak_ptr<RateLimitStats>, std::less<>> rate_limits_;
};

}  // namespace sluice::proxy::metrics
