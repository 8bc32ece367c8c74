#include "proxy/control/restart_only.hpp"

#include "proxy/control/control_plane.hpp"

namespace sluice::proxy {

std::vector<std::string> keep_restart_only(const config::Config& running, unsigned running_workers,
                                           config::Config& next) {
  std::vector<std::string> pending;
  // `workers: 0` and `workers: N` on an N-core machine are the same count: nothing waits.
  if (const unsigned wanted = worker_count_for(next); wanted != running_workers) {
    pending.push_back("workers: " + std::to_string(wanted) + " waits for a restart; " +
                      std::to_string(running_workers) + " keep running");
    next.workers = running.workers;
  }
  const std::string admin_now = running.admin ? running.admin->listen.text : "off";
  const std::string admin_next = next.admin ? next.admin->listen.text : "off";
  if (admin_now != admin_next) {
    pending.push_back("admin.listen: " + admin_next + " waits for a restart; " + admin_now +
                      " stays");
    if (running.admin && next.admin) {
      next.admin->listen = running.admin->listen;  // the rest of the section applies
    } else {
      next.admin = running.admin;
    }
  }
  // Each worker maps its buffer ring once, at start.
  if (running.buffers.size != next.buffers.size || running.buffers.count != next.buffers.count) {
    pending.push_back("buffers: " + std::to_string(next.buffers.count) + " x " +
                      std::to_string(next.buffers.size) + " B wait for a restart; " +
                      std::to_string(running.buffers.count) + " x " +
                      std::to_string(running.buffers.size) + " B stay");
    next.buffers = running.buffers;
  }
  // The writer thread and its rings exist from start to exit (workers hold them); the
  // sample rate is read per request and follows the reload.
  const config::AccessLog& now = running.log.access;
  config::AccessLog& then = next.log.access;
  auto describe = [](const config::AccessLog& a) {
    if (!a.enabled) return std::string("off");
    return a.path + " (" + (a.format == config::AccessLog::Format::text ? "text" : "json") + ")";
  };
  if (now.enabled != then.enabled ||
      (now.enabled && (now.path != then.path || now.format != then.format))) {
    pending.push_back("log.access: " + describe(then) + " waits for a restart; " + describe(now) +
                      " stays");
    const double sample = then.sample;
    then = now;
    if (then.enabled) then.sample = sample;
  }
  return pending;
}

}  // namespace sluice::proxy
