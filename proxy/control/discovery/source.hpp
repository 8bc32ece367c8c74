// A discovery source: something that knows a cluster's endpoints (a watched file, DNS, etcd,
// Consul) and tells its sink the whole set whenever it learns it, or that it failed to. A
// source runs entirely on the control loop (fds and timers registered there; nothing blocks)
// and never decides what an answer means for the cluster: the sink runs it through the
// UpdateGuard (stale on error, drastic removals held), coalesces and publishes.
// Control thread only.
#pragma once

#include <string>
#include <vector>

#include "proxy/control/discovery/update_guard.hpp"

namespace sluice::proxy::discovery {

class SourceSink {
 public:
  virtual ~SourceSink() = default;
  // The source's whole current set, replacing the last one (an empty set is an answer:
  // "the service has no endpoints", e.g. NXDOMAIN). `version` says where it came from, for
  // /clusters and the logs: "sha256 3f2a…", "revision 42", "ttl 30 s", "index 17".
  virtual void deliver(std::vector<DiscoveredEndpoint> set, std::string version) = 0;
  // The source could not say (unreachable, timeout, SERVFAIL, malformed answer, a stopped
  // watch): the cluster keeps its last good set, marked stale. `why` is one line for people.
  virtual void fail(std::string why) = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  // Starts watching or polling; the first answer (deliver or fail) should come as soon as
  // the source can give one. Called once, after construction, on the control thread.
  virtual void start() = 0;
  // "file", "dns", "etcd" or "consul": the `source` label of the discovery metrics.
  virtual const char* kind() const = 0;
  // What it watches, for logs and /clusters: "file endpoints/api.yaml",
  // "dns SRV _api._tcp.internal", "etcd /services/api/ at 127.0.0.1:2379".
  virtual std::string describe() const = 0;
};

}  // namespace sluice::proxy::discovery
