// The process-level series: build and config identity, reloads, the standard process_*
// series and the access log's counters.
#include <prometheus/metric_type.h>

#include "proxy/metrics/families.hpp"

namespace sluice::proxy::metrics {

using prometheus::MetricType;

void add_process(Families& out, const ProcessInfo& p) {
  sample(out.add("sluice_build_info", "Always 1; the version label says which sluice build runs.",
                 MetricType::Gauge),
         {{"version", p.version}}, 1);
  sample(out.add("sluice_process_start_time_seconds",
                 "When the process started, in unix time (seconds).", MetricType::Gauge),
         {}, p.start_time_seconds);
  sample(out.add("sluice_config_info",
                 "Always 1; the hash label identifies the configuration in effect.",
                 MetricType::Gauge),
         {{"hash", p.config_hash}}, 1);
  auto& reloads = out.add("sluice_config_reloads_total",
                          "Configuration reloads attempted since start, by result (count).",
                          MetricType::Counter);
  sample(reloads, {{"result", "success"}}, static_cast<double>(p.reloads_succeeded));
  sample(reloads, {{"result", "failure"}}, static_cast<double>(p.reloads_failed));
  sample(out.add("sluice_config_last_reload_success_timestamp_seconds",
                 "When a configuration was last loaded successfully, initial load included, in "
                 "unix time (seconds); 0 before any.",
                 MetricType::Gauge),
         {}, p.last_reload_success_seconds);
  sample(out.add("sluice_config_restart_pending",
                 "1 while the config file changes a key that needs a restart (workers, buffers, "
                 "admin.listen, the access log's path or format): the last reload applied "
                 "everything else and kept the running value of those; else 0.",
                 MetricType::Gauge),
         {}, p.restart_pending ? 1 : 0);
}

// Named and described as Prometheus' client libraries do, so standard dashboards work.
void add_redis(Families& out, const ProcessInfo& p) {
  if (!p.redis_up) return;
  sample(out.add("sluice_redis_up",
                 "1 while the Redis of global rate limits answers, 0 while it does not (or before "
                 "it first did): global limits then decide by their on_error.",
                 MetricType::Gauge),
         {}, *p.redis_up ? 1 : 0);
  if (!p.redis_sync) return;
  const RedisSyncFigures& s = *p.redis_sync;
  sample(out.add("sluice_redis_sync_rounds_total",
                 "Rounds of the Redis sync of global limits that completed (count).",
                 MetricType::Counter),
         {}, double(s.rounds));
  sample(out.add("sluice_redis_sync_errors_total",
                 "Failed connects, rounds and scripts of the Redis sync of global limits (count).",
                 MetricType::Counter),
         {}, double(s.errors));
  sample(out.add("sluice_redis_sync_keys_total",
                 "Per-key entries the Redis sync sent: one per key of a global limit decided "
                 "since the round before (count).",
                 MetricType::Counter),
         {}, double(s.keys));
  sample(out.add("sluice_redis_sync_round_seconds",
                 "How long the last completed round of the Redis sync took, from sending its "
                 "commands to its last reply, in seconds.",
                 MetricType::Gauge),
         {}, s.last_round_seconds);
}

void add_process_usage(Families& out, const ProcessInfo& p) {
  if (!p.usage) return;
  const ProcessUsage& u = *p.usage;
  const struct {
    const char* name;
    const char* help;
    double value;
  } series[] = {
      {"process_resident_memory_bytes", "Resident memory size in bytes.", u.resident_bytes},
      {"process_virtual_memory_bytes", "Virtual memory size in bytes.", u.virtual_bytes},
      {"process_open_fds", "Number of open file descriptors.", u.open_fds},
      {"process_max_fds", "Maximum number of open file descriptors.", u.max_fds},
      {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
       p.start_time_seconds}};
  sample(out.add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                 MetricType::Counter),
         {}, u.cpu_seconds);
  for (const auto& s : series) sample(out.add(s.name, s.help, MetricType::Gauge), {}, s.value);
}

void add_access_log(Families& out, const ProcessInfo& p) {
  sample(out.add("sluice_access_log_lines_total", "Access log lines written (count).",
                 MetricType::Counter),
         {}, double(p.access_log_lines));
  sample(out.add("sluice_access_log_dropped_total",
                 "Access log lines dropped instead of written (count).", MetricType::Counter),
         {}, double(p.access_log_dropped));
}

}  // namespace sluice::proxy::metrics
