// What one worker derived from one published snapshot. Sessions and upstream
// connections started under a generation keep it (their listener's factory,
// the clusters, balancer cursors, keep-alive pool) until they end, so a reload
// never changes a request or a relay midway; an old generation is freed once
// nothing uses it any more. Worker thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "balancers/balancer.hpp"
#include "proxy/access_log/sampler.hpp"
#include "proxy/upstream/pool.hpp"
#include "proxy/worker/snapshot.hpp"

namespace sluice::proxy {

class WorkerListener;

// From the control thread to one worker: a snapshot to adopt, and per snapshot
// listener the socket this worker accepts on: a fresh one, or -1 to keep the
// socket the running generation has for the same address.
struct WorkerUpdate {
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<int> listener_fds;
};

struct WorkerGeneration {
  uint64_t number = 0;
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<std::unique_ptr<WorkerListener>> listeners;
  std::vector<balancers::CoreState> cores;  // per cluster: this worker's balancer state
  std::unique_ptr<UpstreamPool> pool;
  access_log::Sampler access_sampler;  // log.access.sample of this snapshot
  size_t sessions = 0;                 // live sessions accepted under it
};

}  // namespace sluice::proxy
