#include "proxy/stream/stream.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "proxy/core/socket.hpp"

namespace sluice::proxy {

Stream::Stream(Loop& loop, StreamOwner* owner, int fd) : loop_(loop), owner_(owner), fd_(fd) {
  if (fd_ >= 0) {
    flags_.connected = true;
    set_nodelay(fd_);
  }
}

Stream::~Stream() {
  loop_.unpost(*this);
  if (flags_.waiting_buffers) loop_.forget_waiting(this);
  in.release_all(loop_.buffers());
  out.release_all(loop_.buffers());
  if (fd_ >= 0) ::close(fd_);
}

void Stream::peer(char* ip, size_t size, uint16_t* port) const {
  client_address(fd_, facts_.get(), ip, size, port);
}

void Stream::redeliver_input() {
  if (!flags_.closing && owner_ != nullptr && (!in.empty() || flags_.eof))
    owner_->on_stream_input(*this);
}

void Stream::submit(io_uring_sqe* sqe, unsigned op) {
  io_uring_sqe_set_data64(sqe, tag(this, op));
  ++in_flight_;
}

int Stream::connect(const config::Address& address, config::Duration timeout) {
  fd_ = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return -errno;
  connect_timeout_.tv_sec = timeout.count() / 1000;
  connect_timeout_.tv_nsec = (timeout.count() % 1000) * 1000000;
  io_uring_sqe* sqe = loop_.ring().sqe();
  io_uring_prep_connect(sqe, fd_, address.sockaddr_ptr(), address.length);
  sqe->flags |= IOSQE_IO_LINK;
  submit(sqe, kConnect);
  // The kernel copies the timespec when it takes the request.
  io_uring_sqe* limit = loop_.ring().sqe();
  io_uring_prep_link_timeout(limit, &connect_timeout_, 0);
  io_uring_sqe_set_data64(limit, 0);
  return 0;
}

void Stream::set_receive(bool wanted) {
  flags_.want_receive = wanted;
  if (wanted) {
    arm_receive();
  } else if (flags_.receiving && !flags_.pausing) {
    loop_.ring().cancel(tag(this, kReceive));
    flags_.pausing = true;
  }
}

void Stream::arm_receive() {
  if (flags_.closing || !flags_.connected || !flags_.want_receive || flags_.receiving ||
      flags_.eof || flags_.waiting_buffers)
    return;
  io_uring_sqe* sqe = loop_.ring().sqe();
  io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BufferRing::kGroup;
  submit(sqe, kReceive);
  flags_.receiving = true;
}

ChunkQueue& Stream::wire() {
  return transport_ != nullptr ? transport_->wire(out, loop_.buffers()) : out;
}

void Stream::send() {
  if (flags_.closing || !flags_.connected || flags_.sending) return;
  ChunkQueue& queue = wire();
  if (queue.empty()) {
    if (flags_.want_shutdown && !flags_.shut &&
        (transport_ == nullptr || transport_->flushed(out))) {
      // A synchronous shutdown is one cheap non-blocking syscall per connection.
      ::shutdown(fd_, SHUT_WR);
      flags_.shut = true;
    }
    return;
  }
  const int chunks = queue.fill_iov(loop_.buffers(), iov_, ChunkQueue::kMaxIov);
  io_uring_sqe* sqe = loop_.ring().sqe();
  if (chunks == 1) {
    io_uring_prep_send(sqe, fd_, iov_[0].iov_base, iov_[0].iov_len, MSG_NOSIGNAL);
  } else {
    msg_ = msghdr{};
    msg_.msg_iov = iov_;
    msg_.msg_iovlen = static_cast<size_t>(chunks);
    io_uring_prep_sendmsg(sqe, fd_, &msg_, MSG_NOSIGNAL);
  }
  submit(sqe, kSend);
  flags_.sending = true;
  sent_from_ = &queue;
}

void Stream::shutdown_after_send() {
  if (transport_ != nullptr && !flags_.want_shutdown) transport_->on_shutdown();
  flags_.want_shutdown = true;
  send();
}

void Stream::close() {
  if (flags_.closing) return;
  flags_.closing = true;
  if (flags_.waiting_buffers) {
    loop_.forget_waiting(this);
    flags_.waiting_buffers = false;
  }
  if (in_flight_ > 0) {
    loop_.ring().cancel_fd(fd_);
  } else {
    loop_.post(*this);  // the owner hears on_stream_closed from the loop, not from inside close()
  }
}

void Stream::reset() {
  if (fd_ >= 0 && !flags_.closing) {
    // SO_LINGER with a zero timeout: close(2) sends RST and drops what is queued.
    linger abortive{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  }
  close();
}

void Stream::finish_close() {
  flags_.closed = true;
  loop_.unpost(*this);
  in.release_all(loop_.buffers());
  out.release_all(loop_.buffers());
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (owner_ != nullptr) owner_->on_stream_closed(*this);  // may free this stream: nothing after
}

void Stream::run_task() {
  if (flags_.closing && in_flight_ == 0 && !flags_.closed) finish_close();
}

void Stream::fail(int error) {
  close();
  if (owner_ != nullptr) owner_->on_stream_error(*this, error);
}

void Stream::on_completion(unsigned op, int result, unsigned flags) {
  if (!(flags & IORING_CQE_F_MORE)) --in_flight_;
  switch (op) {
    case kConnect:
      on_connect(result);
      break;
    case kReceive:
      on_receive(result, flags);
      break;
    case kSend:
      on_send(result);
      break;
  }
  if (flags_.closing && in_flight_ == 0 && !flags_.closed) finish_close();  // may free this stream
}

void Stream::on_connect(int result) {
  if (flags_.closing) return;
  if (result < 0) {
    // A connect cut short by its linked timeout completes with -ECANCELED.
    if (owner_ != nullptr)
      owner_->on_stream_connected(*this, result == -ECANCELED ? -ETIMEDOUT : result);
    return;
  }
  flags_.connected = true;
  set_nodelay(fd_);
  arm_receive();
  send();  // with a client transport: its first flight (a ClientHello)
  if (transport_ != nullptr && !transport_->established()) {
    flags_.announce_pending = true;
    return;
  }
  if (owner_ != nullptr) owner_->on_stream_connected(*this, 0);
}

void Stream::on_receive(int result, unsigned flags) {
  const bool more = flags & IORING_CQE_F_MORE;
  if (!more) {
    flags_.receiving = false;
    flags_.pausing = false;
  }
  BufferRing& buffers = loop_.buffers();
  if (flags & IORING_CQE_F_BUFFER) {
    const auto buffer = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    buffers.on_received(buffer);
    if (flags_.closing || result <= 0 || flags_.discard) {
      buffers.release(buffer);
    } else if (transport_ != nullptr) {
      const int error = transport_->on_received(buffers, buffer, static_cast<uint32_t>(result), in);
      if (error < 0) {
        fail(error);
        return;
      }
      // The transport may have records of its own to send (a handshake's next flight).
      send();
      if (flags_.announce_pending && transport_->established()) {
        flags_.announce_pending = false;
        if (owner_ != nullptr) owner_->on_stream_connected(*this, 0);  // closing is checked below
      }
    } else {
      in.push(buffer, static_cast<uint32_t>(result));
    }
  }
  if (result > 0 && received_counter_ != nullptr)
    received_counter_->add(static_cast<uint64_t>(result));
  if (flags_.closing) return;
  if (result > 0) {
    if (owner_ != nullptr) owner_->on_stream_input(*this);
    // A multishot receive may end on its own (e.g. completion queue overflow).
    if (!more) arm_receive();
    return;
  }
  if (result == 0) {
    flags_.eof = true;
    if (owner_ != nullptr) owner_->on_stream_input(*this);
    return;
  }
  switch (-result) {
    case ENOBUFS:  // every receive buffer of this worker is queued somewhere: backpressure
      flags_.waiting_buffers = true;
      loop_.wait_for_buffers(this);
      return;
    case ECANCELED:  // our own pause took effect; the owner may want bytes again by now
      arm_receive();
      return;
    default:
      fail(result);
  }
}

void Stream::on_buffers_available() {
  flags_.waiting_buffers = false;
  arm_receive();
}

void Stream::on_send(int result) {
  flags_.sending = false;
  if (result > 0 && sent_counter_ != nullptr) sent_counter_->add(static_cast<uint64_t>(result));
  if (flags_.closing) return;
  if (result < 0) {
    fail(result);
    return;
  }
  sent_from_->consume(static_cast<size_t>(result), loop_.buffers());
  send();  // the rest, or the FIN once everything is out
  if (owner_ != nullptr) owner_->on_stream_sent(*this);
}

}  // namespace sluice::proxy
