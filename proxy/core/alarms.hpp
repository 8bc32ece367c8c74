// Wake-ups at arbitrary nanosecond instants, for the few things that cannot wait for the
// worker's coarse tick (TimerList lists share one timeout and expire every 250 ms): a request
// held by a shaping rate limit must leave when its slot comes, not up to a tick later. A
// min-heap of intrusive Alarm nodes, with one io_uring absolute timeout (CLOCK_MONOTONIC, the
// clock of clock::monotonic_ns) armed for the earliest; nothing waits on a thread.
//
// Owned by the Loop; worker thread only. set/cancel are O(log n) and allocate only when the heap
// outgrows its largest size so far.
#pragma once

#include <linux/time_types.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "proxy/core/ring.hpp"

namespace sluice::proxy {

class AlarmOwner {
 public:
  virtual void on_alarm() = 0;

 protected:
  ~AlarmOwner() = default;
};

struct Alarm {
  explicit Alarm(AlarmOwner* owner) : owner(owner) {}
  AlarmOwner* const owner;

 private:
  friend class Alarms;
  static constexpr size_t kIdle = std::numeric_limits<size_t>::max();
  int64_t at_ns_ = 0;
  size_t index_ = kIdle;  // position in the heap; kIdle: not set
};

class Alarms final : public IoHandler {
 public:
  explicit Alarms(Ring& ring) : ring_(ring) {}
  Alarms(const Alarms&) = delete;
  Alarms& operator=(const Alarms&) = delete;

  // (Re)sets `alarm` to fire at `at_ns` (monotonic); at or before now it fires on the next
  // completion round, never from inside set().
  void set(Alarm& alarm, int64_t at_ns);
  void cancel(Alarm& alarm);
  static bool pending(const Alarm& alarm) { return alarm.index_ != Alarm::kIdle; }
  size_t size() const { return heap_.size(); }

  // The armed timeout fired: tells every owner whose time has come, earliest first, then arms
  // the next. An owner may set or cancel alarms (its own included) from on_alarm.
  void on_completion(unsigned op, int result, unsigned flags) override;

 private:
  void arm();
  void sift_up(size_t i);
  void sift_down(size_t i);
  void place(size_t i, Alarm* alarm);
  void remove_at(size_t i);

  Ring& ring_;
  std::vector<Alarm*> heap_;
  // The earliest instant a timeout submitted to the ring is still waiting for; INT64_MAX: none.
  // Later ones may be outstanding too: when they fire they find nothing due and re-arm nothing.
  int64_t armed_ns_ = std::numeric_limits<int64_t>::max();
  __kernel_timespec when_{};
};

}  // namespace sluice::proxy
