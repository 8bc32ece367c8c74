// An ordered queue of bytes on their way to one socket: slices of receive
// buffers (forwarded without copying) and owned strings (heads and responses
// sluice writes itself). At most one send is in flight, so bytes can never be
// reordered. Also serves as the queue of received bytes not yet parsed.
// Owned by a session on one worker thread.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/core/uring.hpp"

namespace sluice::proxy {

class Pipe {
 public:
  // Received bytes above this stop the receiving side until the sending side
  // catches up (backpressure); below the low mark the receive is re-armed.
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;
  static constexpr int kMaxIov = 16;

  Pipe() : chunks_(16) {}

  // A freshly received buffer: the pipe takes over the receive's reference.
  void push(uint16_t buffer, uint32_t length) { push_chunk({buffer, 0, length}); }
  // Part of a buffer another queue also holds: the pipe takes its own reference.
  void push_slice(BufferRing& buffers, uint16_t buffer, uint32_t offset, uint32_t length);
  // Bytes sluice produced itself.
  void push_owned(std::string bytes);

  bool empty() const { return count_ == 0; }
  size_t queued_bytes() const { return queued_; }
  // Every byte ever queued: the access log's per-request byte counts are
  // differences of this.
  uint64_t pushed_total() const { return pushed_; }

  // The first queued bytes, contiguous (one chunk), and where they live.
  std::string_view front(const BufferRing& buffers) const;
  uint16_t front_buffer() const { return at(0).buffer; }
  uint32_t front_offset() const { return at(0).offset; }

  // Calls fn(bytes) on each queued chunk in order while it returns true.
  template <typename Fn>
  void for_each_chunk(const BufferRing& buffers, Fn&& fn) const {
    size_t owned_index = 0;
    for (size_t i = 0; i < count_; ++i) {
      const Chunk& c = at(i);
      const char* base = c.buffer == kOwned ? owned_[owned_index++].data()
                                            : reinterpret_cast<const char*>(buffers.data(c.buffer));
      if (!fn(std::string_view(base + c.offset, c.length))) return;
    }
  }

  // Points the send message at the queued bytes (up to kMaxIov chunks).
  // The message lives here until the send completes.
  msghdr* prepare_send(const BufferRing& buffers);
  // Drops the first `bytes` queued bytes and releases emptied buffers.
  void consume(size_t bytes, BufferRing& buffers);
  // Exchanges queued bytes and state with another pipe (a retry moves an unsent
  // request to a new upstream connection). Neither may have a send in flight.
  void swap(Pipe& other);
  // Teardown: every queued buffer is released.
  void release_all(BufferRing& buffers) { consume(queued_, buffers); }

  // Receive side (the source socket) state.
  bool receiving = false;        // a multishot receive is armed
  bool pausing = false;          // a cancel of that receive has been asked for
  bool waiting_buffers = false;  // the receive ended for want of buffers
  bool eof = false;              // the source has sent FIN
  // Send side (the destination socket) state.
  bool sending = false;
  bool shut = false;  // FIN forwarded to the destination

  bool done() const { return eof && shut; }

  // Arms a multishot receive on `fd` into the worker's buffer ring.
  static void prep_receive(io_uring_sqe* sqe, int fd) {
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BufferRing::kGroup;
  }
  // Takes one completion of that receive: updates `receiving`, and queues the
  // buffer it filled when `keep` (otherwise hands the buffer straight back).
  void take_receive(BufferRing& buffers, int result, unsigned flags, bool keep);

 private:
  static constexpr uint16_t kOwned = 0xffff;  // not a buffer id: the front of owned_
  struct Chunk {
    uint16_t buffer;
    uint32_t offset;
    uint32_t length;
  };
  Chunk& at(size_t i) { return chunks_[(head_ + i) & (chunks_.size() - 1)]; }
  const Chunk& at(size_t i) const { return chunks_[(head_ + i) & (chunks_.size() - 1)]; }
  void push_chunk(Chunk chunk);
  void grow();

  // Ring of chunks; a power of two in size. It grows only when a burst of
  // completions lands before a pause takes effect, so steady state never allocates.
  std::vector<Chunk> chunks_;
  size_t head_ = 0;
  size_t count_ = 0;
  size_t queued_ = 0;
  uint64_t pushed_ = 0;
  std::deque<std::string> owned_;  // in queue order, one per kOwned chunk
  iovec iov_[kMaxIov]{};
  msghdr msg_{};
};

}  // namespace sluice::proxy
