// What the I/O objects of one worker thread share: the io_uring ring, the
// receive buffers, the deadline lists and alarms, the loop's clock, the objects waiting
// for buffers and work deferred to after the current completion. A Worker runs
// one; streams, upstream connections and sessions get a Loop& instead of the
// worker, and unit tests run one on their own. Owner thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/core/alarms.hpp"
#include "proxy/core/buffer_ring.hpp"
#include "proxy/core/ring.hpp"
#include "proxy/core/timer_list.hpp"

namespace sluice::proxy {

// Work posted to run once the completion handler that posted it has returned,
// so an object never re-enters itself (or a neighbour it is calling) from a
// callback. Posting a queued task again does nothing.
class Task {
 public:
  virtual void run_task() = 0;
  bool posted() const { return queued_; }

 protected:
  ~Task() = default;

 private:
  friend class Loop;
  Task* next_task_ = nullptr;
  bool queued_ = false;
};

class Loop {
 public:
  Loop() = default;
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Sets up the ring and `buffer_count` receive buffers of `buffer_size`
  // bytes; "" or why io_uring cannot be used here.
  std::string init(unsigned ring_entries, unsigned buffer_count, unsigned buffer_size);

  Ring& ring() { return ring_; }
  BufferRing& buffers() { return buffers_; }
  // The coarse monotonic clock, read once per loop iteration.
  uint64_t now_ms() const { return now_ms_; }
  TimerList& timers(uint64_t timeout_ms) { return timers_.get(timeout_ms); }
  void expire_timers() { timers_.expire(now_ms_); }
  // Wake-ups at exact instants (shaping delays), apart from the coarse deadline lists.
  Alarms& alarms() { return alarms_; }

  void wait_for_buffers(BufferWaiter* waiter);
  void forget_waiting(BufferWaiter* waiter);

  void post(Task& task);
  // Takes a task off the queue (its owner is going away).
  void unpost(Task& task);

  // Submits what is queued, waits for a completion (at most `timeout_ms`
  // when not negative) and handles every completion that arrived. False on an
  // error of the ring itself.
  bool run_once(int64_t timeout_ms = -1);

 private:
  void run_posted();
  void wake_buffer_waiters();

  Ring ring_;
  BufferRing buffers_;
  TimerLists timers_;
  Alarms alarms_{ring_};
  std::vector<BufferWaiter*> waiting_buffers_;
  Task* posted_head_ = nullptr;
  Task* posted_tail_ = nullptr;
  uint64_t now_ms_ = 0;
};

}  // namespace sluice::proxy
