#include "proxy/upstream/pool.hpp"

#include <algorithm>

#include "proxy/upstream/upstream_connection.hpp"

namespace sluice::proxy {

UpstreamPool::UpstreamPool(Loop& loop, const std::deque<ClusterRuntime>& clusters,
                           std::function<void()> on_freed)
    : loop_(loop), on_freed_(std::move(on_freed)) {
  idle_.resize(clusters.size());
  for (const ClusterRuntime& c : clusters) idle_[c.index].resize(c.endpoints.size());
}

UpstreamPool::~UpstreamPool() = default;

UpstreamConnection* UpstreamPool::take(const ClusterRuntime& cluster, uint32_t endpoint,
                                       const void* bound_to) {
  auto& idle = idle_[cluster.index][endpoint];
  // Most recently used first; a bound connection is only its own client's.
  for (size_t i = idle.size(); i-- > 0;) {
    UpstreamConnection* c = idle[i];
    if (c->bound_to != bound_to) continue;
    idle.erase(idle.begin() + static_cast<std::ptrdiff_t>(i));
    c->pooled = false;
    if (c->bound_to != nullptr) --bound_idle_;
    TimerList::stop(c->pool_timer);
    if (!c->closing() && !c->stream().eof()) return c;
  }
  return nullptr;
}

bool UpstreamPool::put(UpstreamConnection* connection) {
  auto& idle = idle_[connection->cluster.index][connection->endpoint];
  const config::ConnectionPool& limits = connection->cluster.config->pool;
  if (closed_ || idle.size() >= limits.max_idle) return false;
  connection->set_owner(nullptr);
  connection->pooled = true;
  if (connection->bound_to != nullptr) ++bound_idle_;
  idle.push_back(connection);
  loop_.timers(static_cast<uint64_t>(limits.idle_timeout.count()))
      .start(connection->pool_timer, loop_.now_ms());
  return true;
}

void UpstreamPool::remove(UpstreamConnection* connection) {
  std::erase(idle_[connection->cluster.index][connection->endpoint], connection);
  connection->pooled = false;
  if (connection->bound_to != nullptr) --bound_idle_;
}

void UpstreamPool::close_bound(const void* client) {
  if (bound_idle_ == 0 || client == nullptr) return;
  std::vector<UpstreamConnection*> bound;
  for (auto& cluster : idle_)
    for (auto& idle : cluster)
      for (UpstreamConnection* c : idle)
        if (c->bound_to == client) bound.push_back(c);
  for (UpstreamConnection* c : bound) c->close();  // leaves the idle list through remove()
}

void UpstreamPool::close() {
  closed_ = true;
  for (auto& cluster : idle_)
    for (auto& idle : cluster) {
      std::vector<UpstreamConnection*> connections;
      connections.swap(idle);
      for (UpstreamConnection* c : connections) {
        c->pooled = false;
        if (c->bound_to != nullptr) --bound_idle_;
        c->close();
      }
    }
}

void UpstreamPool::freed() {
  --live_;
  if (on_freed_) on_freed_();
}

}  // namespace sluice::proxy
