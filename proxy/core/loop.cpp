#include "proxy/core/loop.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"

namespace sluice::proxy {

std::string Loop::init(unsigned ring_entries, unsigned buffer_count, unsigned buffer_size) {
  std::string e = ring_.init(ring_entries);
  if (e.empty()) e = buffers_.init(ring_, buffer_count, buffer_size);
  now_ms_ = clock::coarse_ms();
  return e;
}

void Loop::wait_for_buffers(BufferWaiter* waiter) {
  if (std::find(waiting_buffers_.begin(), waiting_buffers_.end(), waiter) == waiting_buffers_.end())
    waiting_buffers_.push_back(waiter);
}

void Loop::forget_waiting(BufferWaiter* waiter) {
  std::erase(waiting_buffers_, waiter);
}

void Loop::post(Task& task) {
  if (task.queued_) return;
  task.queued_ = true;
  task.next_task_ = nullptr;
  (posted_tail_ != nullptr ? posted_tail_->next_task_ : posted_head_) = &task;
  posted_tail_ = &task;
}

void Loop::unpost(Task& task) {
  if (!task.queued_) return;
  Task* previous = nullptr;
  for (Task* t = posted_head_; t != nullptr; previous = t, t = t->next_task_) {
    if (t != &task) continue;
    (previous != nullptr ? previous->next_task_ : posted_head_) = t->next_task_;
    if (posted_tail_ == t) posted_tail_ = previous;
    break;
  }
  task.queued_ = false;
}

void Loop::run_posted() {
  while (posted_head_ != nullptr) {
    Task* task = posted_head_;
    posted_head_ = task->next_task_;
    if (posted_head_ == nullptr) posted_tail_ = nullptr;
    task->queued_ = false;
    task->run_task();
  }
}

void Loop::wake_buffer_waiters() {
  std::vector<BufferWaiter*> waiting;
  waiting.swap(waiting_buffers_);
  for (BufferWaiter* w : waiting) w->on_buffers_available();
  run_posted();
}

bool Loop::run_once(int64_t timeout_ms) {
  io_uring* ring = ring_.raw();
  run_posted();
  int rc;
  if (timeout_ms < 0) {
    rc = io_uring_submit_and_wait(ring, 1);
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (timeout_ms % 1000) * 1000000;
    io_uring_cqe* ignored = nullptr;
    rc = io_uring_submit_and_wait_timeout(ring, &ignored, 1, &ts, nullptr);
    if (rc == -ETIME) rc = 0;
  }
  if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
    LOG_ERROR("io_uring_submit_and_wait: %s", std::strerror(-rc));
    return false;
  }
  now_ms_ = clock::coarse_ms();
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(ring, head, cqe) {
    ++seen;
    const uint64_t data = cqe->user_data;
    if (data == 0) continue;
    auto* handler = reinterpret_cast<IoHandler*>(data & ~uint64_t{15});
    handler->on_completion(static_cast<unsigned>(data & 15), cqe->res, cqe->flags);
    run_posted();
  }
  io_uring_cq_advance(ring, seen);
  buffers_.flush();
  // An eighth of the buffers back (at least one): enough for the waiters to
  // make progress without waking them on every single release.
  if (!waiting_buffers_.empty() && buffers_.available() >= std::max(1u, buffers_.count() / 8))
    wake_buffer_waiters();
  return true;
}

}  // namespace sluice::proxy
