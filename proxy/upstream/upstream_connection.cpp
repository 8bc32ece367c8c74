#include "proxy/upstream/upstream_connection.hpp"

#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>

#include "proxy/worker/worker.hpp"

namespace sluice::proxy {

UpstreamConnection::UpstreamConnection(Worker& worker, WorkerGeneration& generation,
                                       const ClusterRuntime& cluster, uint32_t endpoint,
                                       limiter::ConcurrencyPermit permit)
    : generation(generation),
      cluster(cluster),
      endpoint(endpoint),
      worker_(worker),
      permit_(std::move(permit)),
      counters_(cluster.stats->per_worker.at(worker.index())) {
  worker_.upstream_opened(generation);
  counters_.connections_active.add();
}

UpstreamConnection::~UpstreamConnection() {
  in.release_all(worker_.buffers());
  out.release_all(worker_.buffers());
  if (fd_ >= 0) ::close(fd_);
  counters_.connections_active.sub();
  worker_.upstream_freed(generation);
}

void UpstreamConnection::submit(io_uring_sqe* sqe, unsigned op) {
  io_uring_sqe_set_data64(sqe, tag(this, op));
  ++in_flight_;
}

int UpstreamConnection::connect(const config::Address& address, config::Duration timeout) {
  fd_ = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return -errno;
  connect_timeout_.tv_sec = timeout.count() / 1000;
  connect_timeout_.tv_nsec = (timeout.count() % 1000) * 1000000;
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_connect(sqe, fd_, address.sockaddr_ptr(), address.length);
  sqe->flags |= IOSQE_IO_LINK;
  submit(sqe, kConnect);
  io_uring_sqe* limit = worker_.ring().sqe();
  io_uring_prep_link_timeout(limit, &connect_timeout_, 0);
  io_uring_sqe_set_data64(limit, 0);
  return 0;
}

void UpstreamConnection::arm_receive() {
  if (closing_ || !connected_ || in.receiving || in.eof || in.waiting_buffers || paused_) return;
  io_uring_sqe* sqe = worker_.ring().sqe();
  Pipe::prep_receive(sqe, fd_);
  submit(sqe, kReceive);
  in.receiving = true;
}

void UpstreamConnection::pause_receive() {
  paused_ = true;
  if (!in.receiving || in.pausing) return;
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_cancel64(sqe, tag(this, kReceive), 0);
  io_uring_sqe_set_data64(sqe, 0);
  in.pausing = true;
}

void UpstreamConnection::resume_receive() {
  paused_ = false;
  in.waiting_buffers = false;
  if (in.queued_bytes() <= Pipe::kLowWater) arm_receive();
}

void UpstreamConnection::flush() {
  if (closing_ || !connected_ || out.sending) return;
  if (out.empty()) {
    if (want_shutdown_ && !out.shut) {
      ::shutdown(fd_, SHUT_WR);
      out.shut = true;
    }
    return;
  }
  msghdr* msg = out.prepare_send(worker_.buffers());
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_sendmsg(sqe, fd_, msg, MSG_NOSIGNAL);
  submit(sqe, kSend);
  out.sending = true;
}

void UpstreamConnection::close() {
  if (closing_) return;
  closing_ = true;
  TimerList::stop(pool_timer);
  if (owner_ == nullptr) worker_.unpool(this);
  if (in.waiting_buffers) worker_.forget_waiting(this);
  if (fd_ >= 0) {
    io_uring_sqe* sqe = worker_.ring().sqe();
    io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, 0);
  }
  owner_ = nullptr;
  if (in_flight_ == 0 && !in_callback_) delete this;
}

void UpstreamConnection::fail(int error) {
  UpstreamOwner* owner = owner_;
  close();
  if (owner != nullptr) owner->on_upstream_error(error);
}

void UpstreamConnection::on_completion(unsigned op, int result, unsigned flags) {
  if (!(flags & IORING_CQE_F_MORE)) --in_flight_;
  in_callback_ = true;
  switch (op) {
    case kConnect:
      if (closing_) break;
      if (result < 0) {
        // A connect cut short by its linked timeout completes with -ECANCELED.
        if (owner_ != nullptr)
          owner_->on_upstream_connected(result == -ECANCELED ? -ETIMEDOUT : result);
        owner_ = nullptr;
        close();
        break;
      }
      connected_ = true;
      {
        int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      arm_receive();
      flush();
      if (owner_ != nullptr) owner_->on_upstream_connected(0);
      break;
    case kReceive:
      on_receive(result, flags);
      break;
    case kSend:
      on_send(result);
      break;
  }
  in_callback_ = false;
  if (closing_ && in_flight_ == 0) delete this;
}

void UpstreamConnection::on_receive(int result, unsigned flags) {
  const bool more = flags & IORING_CQE_F_MORE;
  in.take_receive(worker_.buffers(), result, flags, !closing_);
  if (result > 0) counters_.bytes_received.add(static_cast<uint64_t>(result));
  if (closing_) return;
  if (owner_ == nullptr) {
    // Idle in the pool: the endpoint closed it (or sent bytes nobody asked for).
    close();
    return;
  }
  if (result > 0) {
    if (!more) arm_receive();
    owner_->on_upstream_input();
    return;
  }
  if (result == 0) {
    in.eof = true;
    owner_->on_upstream_input();
    return;
  }
  if (result == -ENOBUFS) {
    in.waiting_buffers = true;
    worker_.wait_for_buffers(this);
    return;
  }
  if (result == -ECANCELED) {
    if (!paused_) arm_receive();
    return;
  }
  fail(result);
}

void UpstreamConnection::on_send(int result) {
  out.sending = false;
  if (result > 0) counters_.bytes_sent.add(static_cast<uint64_t>(result));
  if (closing_) return;
  if (result < 0) {
    fail(result);
    return;
  }
  out.consume(static_cast<size_t>(result), worker_.buffers());
  flush();
  if (owner_ != nullptr) owner_->on_upstream_sent();
}

}  // namespace sluice::proxy
