#include "proxy/worker/listening_socket.hpp"

#include <unistd.h>

#include <utility>

#include "proxy/worker/worker_listener.hpp"

namespace sluice::proxy {

ListeningSocket::~ListeningSocket() {
  if (fd_ >= 0) ::close(fd_);
}

void ListeningSocket::arm() {
  if (armed_ || fd_ < 0) return;
  io_uring_sqe* sqe = ring_.sqe();
  // Blocking-mode sockets: io_uring returns -EAGAIN for O_NONBLOCK ones instead of
  // waiting for readiness itself.
  io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag(this, 0));
  armed_ = true;
}

void ListeningSocket::cancel() {
  // By user_data: after close() the fd no longer finds the request, and the multishot
  // accept's own reference would keep the socket listening.
  if (armed_) ring_.cancel(tag(this, 0), /*all=*/true);
}

void ListeningSocket::close() {
  if (fd_ < 0) return;
  cancel();
  ::close(std::exchange(fd_, -1));
}

void ListeningSocket::on_completion(unsigned, int result, unsigned flags) {
  if (!(flags & IORING_CQE_F_MORE)) armed_ = false;
  owner_->on_accept(result);
}

}  // namespace sluice::proxy
