// What a worker needs from any downstream connection it owns (the TCP relay,
// the HTTP session): completions, deadlines, buffer starvation, and a way to end it.
#pragma once

#include <cstddef>

#include "proxy/metrics/counters.hpp"
#include "proxy/core/timer_list.hpp"
#include "proxy/core/uring.hpp"

namespace sluice::proxy {

struct WorkerGeneration;

class Session : public IoHandler, public TimerOwner, public BufferWaiter {
 public:
  // Deadline kinds shared by all sessions; a session may add its own above these.
  enum TimerKind : int { kIdleTimer = 0 };

  Session() : idle_timer(this, kIdleTimer) {}
  virtual ~Session() = default;
  // Closes the connection now; the session frees itself (through
  // Worker::session_ended) once the kernel has returned all its operations.
  virtual void abort() = 0;
  // The worker is stopping: finish what is in flight, take nothing new, then
  // close. What is still open at the drain deadline is aborted.
  virtual void drain() { abort(); }

  TimerNode idle_timer;
  size_t live_index = 0;                   // position in the worker's list of live sessions
  WorkerGeneration* generation = nullptr;  // what it was accepted under
  metrics::ListenerCounters* listener_counters = nullptr;  // this worker's slot
};

}  // namespace sluice::proxy
