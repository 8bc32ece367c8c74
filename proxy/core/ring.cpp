#include "proxy/core/ring.hpp"

#include <cerrno>
#include <cstring>

namespace sluice::proxy {

Ring::~Ring() {
  if (ready_) io_uring_queue_exit(&ring_);
}

std::string Ring::init(unsigned entries) {
  // Newest, cheapest mode first; older kernels reject unknown flags with EINVAL.
  struct Mode {
    unsigned flags;
    const char* name;
  };
  static constexpr Mode kModes[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single-issuer+defer-taskrun"},
      {IORING_SETUP_COOP_TASKRUN, "coop-taskrun"},
      {0, "plain"},
  };
  int err = 0;
  for (const Mode& m : kModes) {
    io_uring_params params{};
    params.flags = m.flags | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 8;  // multishot receives post many completions per submission
    err = io_uring_queue_init_params(entries, &ring_, &params);
    if (err == 0) {
      ready_ = true;
      mode_ = m.name;
      return {};
    }
    if (err != -EINVAL) break;
  }
  if (err == -ENOSYS || err == -EPERM)
    return std::string("io_uring is not available on this system (") + std::strerror(-err) +
           "): the kernel is too old or a seccomp/container policy blocks it; sluice needs "
           "Linux >= 6.0 with io_uring enabled";
  return std::string("io_uring setup failed: ") + std::strerror(-err);
}

io_uring_sqe* Ring::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (s == nullptr) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

void Ring::cancel_fd(int fd) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel_fd(s, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(s, 0);
}

void Ring::cancel(uint64_t user_data, bool all) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, user_data, all ? IORING_ASYNC_CANCEL_ALL : 0);
  io_uring_sqe_set_data64(s, 0);
}

}  // namespace sluice::proxy
