// Ending connections on purpose: the worker's drain when it stops (finish what is in flight,
// then cut at drain_timeout) and the cut of relays to endpoints that left the published
// endpoint lists more than drain_timeout ago.
#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"
#include "proxy/worker/worker.hpp"

namespace sluice::proxy {

void Worker::cut_relays_to_removed_endpoints() {
  const int64_t now = clock::monotonic_ns();
  std::vector<Session*> expired;
  for (Session* s : sessions_) {
    const EndpointState* endpoint = s->relay_endpoint();
    if (endpoint != nullptr && endpoint->removal_expired(now)) expired.push_back(s);
  }
  if (expired.empty()) return;
  LOG_INFO(
      "worker %u: closing %zu connection%s relaying to endpoints removed longer than "
      "drain_timeout ago",
      index_, expired.size(), expired.size() == 1 ? "" : "s");
  for (Session* s : expired) s->cut("endpoint-removed");
}

void Worker::begin_stop() {
  stopping_ = true;
  for (auto& g : generations_) {
    for (auto& l : g->listeners) l->close();
    g->pool->close();
  }
  // In-flight requests and relays get the running config's drain_timeout.
  drain_deadline_ms_ =
      loop_.now_ms() +
      static_cast<uint64_t>(generations_.back()->snapshot->config->drain_timeout.count());
  // drain() may end a session at once, which reshuffles sessions_.
  std::vector<Session*> live = sessions_;
  for (Session* s : live) s->drain();
}

}  // namespace sluice::proxy
