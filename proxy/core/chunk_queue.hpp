// An ordered queue of bytes: slices of receive buffers (forwarded without
// copying; each slice holds a reference on its buffer) and owned strings (heads
// and responses sluice writes itself). A Stream keeps one for what it received
// and one for what it is to send. An empty queue that never held anything owns
// no heap memory, so idle connections stay small. Owned by one worker thread.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/core/buffer_ring.hpp"

namespace sluice::proxy {

class ChunkQueue {
 public:
  // Backpressure marks: a receiving side stops while the bytes it produced and
  // nobody consumed exceed kHighWater, and starts again at kLowWater.
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;
  // Chunks one send takes at most: 8 x 16 KiB buffers is 128 KiB a send, and a
  // Stream keeps an iovec array this long (idle connections count every byte).
  static constexpr int kMaxIov = 8;

  ChunkQueue() = default;
  ChunkQueue(const ChunkQueue&) = delete;
  ChunkQueue& operator=(const ChunkQueue&) = delete;

  // A freshly received buffer: the queue takes over the receive's reference.
  void push(uint16_t buffer, uint32_t length) { push_chunk({buffer, 0, length}); }
  // Part of a buffer another queue also holds: this queue takes its own reference.
  void push_slice(BufferRing& buffers, uint16_t buffer, uint32_t offset, uint32_t length);
  // Bytes sluice produced itself.
  void push_owned(std::string bytes);
  // Moves every chunk of `from` to the end of this queue (references move too).
  void append(ChunkQueue& from);

  bool empty() const { return count_ == 0; }
  size_t queued_bytes() const { return queued_; }
  // Every byte ever queued: per-request byte counts are differences of this.
  uint64_t pushed_total() const { return pushed_; }
  // Every byte ever consumed.
  uint64_t consumed_total() const { return pushed_ - queued_; }

  // The first queued bytes, contiguous (one chunk), and where they live.
  std::string_view front(const BufferRing& buffers) const;
  uint16_t front_buffer() const { return at(0).buffer; }
  uint32_t front_offset() const { return at(0).offset; }
  // Whether the first chunk is a slice of a receive buffer (push_slice works on it).
  bool front_is_buffer() const { return at(0).buffer != kOwned; }

  // Calls fn(bytes) on each queued chunk in order while it returns true.
  template <typename Fn>
  void for_each_chunk(const BufferRing& buffers, Fn&& fn) const {
    size_t owned_index = owned_head_;
    for (size_t i = 0; i < count_; ++i) {
      const Chunk& c = at(i);
      const char* base = c.buffer == kOwned ? owned_[owned_index++].data()
                                            : reinterpret_cast<const char*>(buffers.data(c.buffer));
      if (!fn(std::string_view(base + c.offset, c.length))) return;
    }
  }

  // Points `iov` at the first queued chunks (at most `max`); returns how many.
  // Nothing may be consumed while a send uses them.
  int fill_iov(const BufferRing& buffers, iovec* iov, int max) const;
  // Drops the first `bytes` queued bytes and releases emptied buffers.
  void consume(size_t bytes, BufferRing& buffers);
  // Exchanges queued bytes with another queue (a retry moves an unsent request
  // to a new upstream connection). Neither may have a send in flight.
  void swap(ChunkQueue& other);
  // Teardown: every queued buffer is released.
  void release_all(BufferRing& buffers) { consume(queued_, buffers); }

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
  void pop_owned();

  // Ring of chunks; a power of two in size (none until the first push). It
  // grows only when a burst of completions lands before a pause takes effect,
  // so steady state never allocates.
  std::vector<Chunk> chunks_;
  size_t head_ = 0;
  size_t count_ = 0;
  size_t queued_ = 0;
  uint64_t pushed_ = 0;
  // One string per kOwned chunk, in queue order from owned_head_.
  std::vector<std::string> owned_;
  size_t owned_head_ = 0;
};

}  // namespace sluice::proxy
