#include "proxy/core/alarms.hpp"

#include "proxy/core/clock.hpp"

namespace sluice::proxy {

void Alarms::set(Alarm& alarm, int64_t at_ns) {
  cancel(alarm);
  alarm.at_ns_ = at_ns;
  heap_.push_back(&alarm);
  alarm.index_ = heap_.size() - 1;
  sift_up(alarm.index_);
  if (heap_.front() == &alarm) arm();
}

void Alarms::cancel(Alarm& alarm) {
  if (pending(alarm)) remove_at(alarm.index_);
  // The timeout armed for it stays: when it fires it finds nothing due. Cheaper than a cancel.
}

void Alarms::on_completion(unsigned, int, unsigned) {
  const int64_t now = clock::monotonic_ns();
  // The earliest submitted timeout is due by now (a later one fired, or it did itself).
  if (now >= armed_ns_) armed_ns_ = std::numeric_limits<int64_t>::max();
  while (!heap_.empty() && heap_.front()->at_ns_ <= now) {
    Alarm* due = heap_.front();
    remove_at(0);
    due->owner->on_alarm();
  }
  if (!heap_.empty()) arm();
}

void Alarms::arm() {
  const int64_t at = heap_.front()->at_ns_;
  if (at >= armed_ns_) return;  // a timeout at least as early is on its way
  armed_ns_ = at;
  when_.tv_sec = at / 1'000'000'000;
  when_.tv_nsec = at % 1'000'000'000;
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_timeout(sqe, &when_, 0, IORING_TIMEOUT_ABS);
  io_uring_sqe_set_data64(sqe, tag(this, 0));
  // Submitted now: the kernel copies `when_` at submission, and the next arm may change it
  // before the loop would submit.
  io_uring_submit(ring_.raw());
}

void Alarms::place(size_t i, Alarm* alarm) {
  heap_[i] = alarm;
  alarm->index_ = i;
}

void Alarms::sift_up(size_t i) {
  Alarm* moving = heap_[i];
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (heap_[parent]->at_ns_ <= moving->at_ns_) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, moving);
}

void Alarms::sift_down(size_t i) {
  Alarm* moving = heap_[i];
  const size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->at_ns_ < heap_[child]->at_ns_) ++child;
    if (moving->at_ns_ <= heap_[child]->at_ns_) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, moving);
}

void Alarms::remove_at(size_t i) {
  Alarm* gone = heap_[i];
  Alarm* last = heap_.back();
  heap_.pop_back();
  gone->index_ = Alarm::kIdle;
  if (last == gone) return;
  place(i, last);
  sift_up(i);
  sift_down(last->index_);
}

}  // namespace sluice::proxy
