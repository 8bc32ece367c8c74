#include "proxy/control/listener_sockets.hpp"

#include <unistd.h>

#include <utility>

#include "proxy/core/socket.hpp"

namespace sluice::proxy {

std::vector<WorkerUpdate> ListenerSockets::prepare(std::shared_ptr<const Snapshot> snapshot,
                                                   unsigned workers, std::string& error) {
  std::vector<WorkerUpdate> updates(workers);
  for (WorkerUpdate& u : updates) {
    u.snapshot = snapshot;
    u.listener_fds.assign(snapshot->listeners.size(), -1);
  }
  for (size_t i = 0; i < snapshot->listeners.size(); ++i) {
    const config::Listener& l = *snapshot->listeners[i].config;
    if (running_.contains(l.listen.text)) continue;
    for (WorkerUpdate& u : updates) {
      u.listener_fds[i] = open_bound_socket(l.listen, error);
      if (u.listener_fds[i] < 0) {
        error = "listener " + l.name + ": " + error;
        discard(updates);
        return {};
      }
    }
  }
  return updates;
}

void ListenerSockets::commit(const Snapshot& snapshot) {
  running_.clear();
  for (const ListenerRuntime& l : snapshot.listeners) running_.insert(l.config->listen.text);
}

void ListenerSockets::discard(std::vector<WorkerUpdate>& updates) {
  for (WorkerUpdate& u : updates)
    for (int& fd : u.listener_fds)
      if (fd >= 0) ::close(std::exchange(fd, -1));
}

}  // namespace sluice::proxy
