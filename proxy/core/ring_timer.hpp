// A one-shot timer with the ring's precision (an io_uring timeout), for the few deadlines the
// loop's tick-driven lists (timer_list.hpp, ~250 ms steps, one list per distinct timeout) cannot
// serve: a retry's back-off of a few milliseconds, a deadline a client chose. Its kernel side
// lives on the heap until the kernel completes it, so the owner may go away with a timer
// running (it is detached and removed). Owner thread only.
#pragma once

#include <cstdint>

#include "proxy/core/ring.hpp"

namespace sluice::proxy {

class RingTimerOwner {
 public:
  virtual void on_ring_timer(int kind) = 0;

 protected:
  ~RingTimerOwner() = default;
};

class RingTimer {
 public:
  RingTimer(RingTimerOwner* owner, int kind) : owner_(owner), kind_(kind) {}
  RingTimer(const RingTimer&) = delete;
  RingTimer& operator=(const RingTimer&) = delete;
  ~RingTimer() { stop(); }

  // (Re)starts it: the owner hears on_ring_timer(kind) once `delay_ns` has passed.
  void start(Ring& ring, int64_t delay_ns);
  // The owner will not hear of it; the kernel's timeout is removed.
  void stop();
  bool running() const { return pending_ != nullptr; }

 private:
  class Pending;
  friend class Pending;

  RingTimerOwner* const owner_;
  const int kind_;
  Pending* pending_ = nullptr;
};

}  // namespace sluice::proxy
