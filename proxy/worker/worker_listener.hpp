// A listener as one worker sees it in one generation: its socket, its
// multishot accept, and the SessionHost its sessions reach the worker through.
// A reload hands the socket on to the next generation's listener for the same
// address (detach), so no connection is refused. Worker thread only.
#pragma once

#include <cstdint>

#include "proxy/core/ring.hpp"
#include "proxy/session/session.hpp"
#include "proxy/worker/worker_generation.hpp"

namespace sluice::proxy {

class Worker;

class WorkerListener final : public IoHandler, public SessionHost {
 public:
  WorkerListener(Worker& worker, WorkerGeneration& generation, const ListenerRuntime& runtime,
                 int fd);
  void arm();
  // Stops accepting and closes the socket.
  void close();
  // Stops accepting and hands over the socket (-1 when it has none).
  int detach();
  // Its multishot accept may still complete: the generation must stay.
  bool armed() const { return armed_; }
  // Accepting stopped while descriptors or memory are short; the worker's
  // tick resumes it.
  bool paused() const { return paused_; }
  void pause();
  void resume();
  void on_completion(unsigned op, int result, unsigned flags) override;

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
  void cancel_accept();

  TimerList& idle_timers_;
  metrics::ListenerCounters& counters_;  // this worker's slot
  int fd_;
  bool armed_ = false;
  bool paused_ = false;
};

}  // namespace sluice::proxy
