// The control thread's side of listener sockets across reloads: which
// addresses the workers accept on, and fresh SO_REUSEPORT sockets (one per
// worker) for the addresses a new snapshot adds. A socket for an address that
// stays is kept by the workers themselves (see Worker::adopt), so a reload
// never closes a listening socket that is still configured and refuses
// nothing. Control thread only.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "proxy/worker/snapshot.hpp"
#include "proxy/worker/worker_generation.hpp"

namespace sluice::proxy {

class ListenerSockets {
 public:
  // One update per worker for `snapshot`, with new sockets opened and bound
  // for the addresses not running yet. On failure, closes what it opened,
  // sets `error` and returns an empty vector.
  std::vector<WorkerUpdate> prepare(std::shared_ptr<const Snapshot> snapshot, unsigned workers,
                                    std::string& error);
  // The updates were published: their addresses are the running ones now.
  void commit(const Snapshot& snapshot);
  // The updates were not published: close the sockets prepare() opened.
  static void discard(std::vector<WorkerUpdate>& updates);

 private:
  std::set<std::string> running_;  // listen addresses, as written in the config
};

}  // namespace sluice::proxy
