// The upstream connections one worker opened under one generation: idle
// keep-alive connections per (cluster, endpoint), most recently used last, and
// a count of every live one, so the generation (whose snapshot they read) is
// kept until the last is freed. Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "proxy/core/loop.hpp"
#include "proxy/upstream/cluster.hpp"

namespace sluice::proxy {

class UpstreamConnection;

class UpstreamPool {
 public:
  // `on_freed` runs whenever a connection of this pool is freed.
  UpstreamPool(Loop& loop, const std::deque<ClusterRuntime>& clusters,
               std::function<void()> on_freed);
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;
  ~UpstreamPool();

  Loop& loop() { return loop_; }
  // An idle connection to the endpoint, taken off the idle list; null when none. `bound_to`:
  // only one bound to that client connection (a PROXY header named it), null: a shared one.
  UpstreamConnection* take(const ClusterRuntime& cluster, uint32_t endpoint,
                           const void* bound_to = nullptr);
  // Parks a connection whose exchange ended cleanly, for the cluster's
  // pool.idle_timeout. False (the caller closes it) when the endpoint's list
  // holds pool.max_idle already or the pool no longer takes any.
  bool put(UpstreamConnection* connection);
  void remove(UpstreamConnection* connection);
  // Closes the idle connections bound to `client`, whose connection is ending: no later client
  // (whose connection may be allocated at the same address) may ever take one.
  void close_bound(const void* client);
  // Closes every idle connection and takes no more (the generation stopped
  // being the running one, or the worker stops).
  void close();

  size_t live() const { return live_; }
  size_t idle(const ClusterRuntime& cluster, uint32_t endpoint) const {
    return idle_[cluster.index][endpoint].size();
  }
  void opened() { ++live_; }
  void freed();

 private:
  Loop& loop_;
  std::function<void()> on_freed_;
  // idle_[cluster][endpoint]
  std::vector<std::vector<std::vector<UpstreamConnection*>>> idle_;
  size_t live_ = 0;
  size_t bound_idle_ = 0;  // idle connections bound to a client: close_bound() has work
  bool closed_ = false;
};

}  // namespace sluice::proxy
