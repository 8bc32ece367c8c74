// A listener as one worker sees it in one generation: its socket (with the
// multishot accept on it), and the SessionHost its sessions reach the worker
// through. A reload hands the socket, accept still armed, on to the next
// generation's listener for the same address (hand_over), so no connection is
// refused or left waiting. Worker thread only.
#pragma once

#include <cstdint>
#include <memory>

#include "proxy/session/session.hpp"
#include "proxy/worker/listening_socket.hpp"
#include "proxy/worker/worker_generation.hpp"

namespace sluice::proxy {

class Worker;

class WorkerListener final : public SessionHost {
 public:
  // Takes `socket` over: what it accepts comes to this listener from now on.
  WorkerListener(Worker& worker, WorkerGeneration& generation, const ListenerRuntime& runtime,
                 std::unique_ptr<ListeningSocket> socket);
  void arm();
  // Stops accepting and closes the socket.
  void close();
  // The socket, its accept left as it is, for the next generation's listener; null when
  // it has none. Whatever the socket accepts from now on is the next listener's.
  std::unique_ptr<ListeningSocket> hand_over();
  // Its multishot accept may still complete: the generation must stay.
  bool armed() const { return socket_ != nullptr && socket_->armed(); }
  // Accepting stopped while descriptors or memory are short; the worker's
  // tick resumes it.
  bool paused() const { return paused_; }
  void pause();
  void resume();
  // From the socket: an accepted descriptor, or (negative) why the accept failed or ended.
  void on_accept(int result);

  // SessionHost.
  Loop& loop() override;
  unsigned worker_index() const override;
  const config::Listener& listener() const override { return *runtime.config; }
  const SessionFactory& factory() const override { return *runtime.factory; }
  TimerList& idle_timers() override { return idle_timers_; }
  metrics::ListenerCounters& counters() override { return counters_; }
  UpstreamPool& pool() override { return *generation.pool; }
  balancers::CoreState& core(const ClusterRuntime& cluster) override {
    return generation.cores[cluster.index];
  }
  bool logging() const override;
  access_log::RecordRing* access_log() override;
  bool outdated() const override;
  SessionHost* follow_reload(Session& session) override;
  void session_ended(Session& session) override;
  void session_replaced(Session& session, Session& next) override;
  int start_transport(Stream& stream) override;

  Worker& worker;
  WorkerGeneration& generation;
  const ListenerRuntime& runtime;

 private:
  TimerList& idle_timers_;
  metrics::ListenerCounters& counters_;  // this worker's slot
  std::unique_ptr<ListeningSocket> socket_;
  bool paused_ = false;
};

}  // namespace sluice::proxy
