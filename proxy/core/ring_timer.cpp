#include "proxy/core/ring_timer.hpp"

namespace sluice::proxy {

// The timeout as the kernel holds it: its timespec and the way back to a timer still
// interested. Frees itself on its completion (fired, or -ECANCELED after a stop).
class alignas(16) RingTimer::Pending final : public IoHandler {
 public:
  Pending(RingTimer* timer, Ring& ring) : timer_(timer), ring_(ring) {}

  void arm(int64_t delay_ns) {
    ts_.tv_sec = delay_ns / 1'000'000'000;
    ts_.tv_nsec = delay_ns % 1'000'000'000;
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_timeout(sqe, &ts_, 0, 0);
    io_uring_sqe_set_data64(sqe, tag(this, 0));
  }
  void detach() {
    timer_ = nullptr;
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_timeout_remove(sqe, tag(this, 0), 0);
    io_uring_sqe_set_data64(sqe, 0);
  }

  void on_completion(unsigned, int, unsigned) override {
    RingTimer* timer = timer_;
    delete this;
    if (timer == nullptr) return;
    timer->pending_ = nullptr;
    timer->owner_->on_ring_timer(timer->kind_);
  }

 private:
  RingTimer* timer_;
  Ring& ring_;
  __kernel_timespec ts_{};
};

void RingTimer::start(Ring& ring, int64_t delay_ns) {
  stop();
  pending_ = new Pending(this, ring);
  pending_->arm(delay_ns < 0 ? 0 : delay_ns);
}

void RingTimer::stop() {
  if (pending_ == nullptr) return;
  pending_->detach();
  pending_ = nullptr;
}

}  // namespace sluice::proxy
