// The provided-buffer ring that all multishot receives of one worker share.
// Owned by one worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/core/ring.hpp"

namespace sluice::proxy {

// Anything whose multishot receive ended with -ENOBUFS and waits for buffers.
class BufferWaiter {
 public:
  virtual void on_buffers_available() = 0;

 protected:
  ~BufferWaiter() = default;
};

// One group of equally sized receive buffers registered with the kernel. The
// kernel picks a buffer per multishot receive completion; it goes back to the
// kernel when the last holder releases it (an HTTP connection may keep the rest
// of a buffer for the next pipelined request while its first part is sent on).
class BufferRing {
 public:
  static constexpr uint16_t kGroup = 0;

  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  std::string init(Ring& ring, unsigned count, unsigned size);
  uint8_t* data(uint16_t id) const { return base_ + static_cast<size_t>(id) * size_; }
  unsigned buffer_size() const { return size_; }
  unsigned count() const { return count_; }
  unsigned available() const { return available_; }

  // A receive completion handed us buffer `id`: we hold one reference.
  void on_received(uint16_t id) {
    --available_;
    refs_[id] = 1;
  }
  void retain(uint16_t id) { ++refs_[id]; }
  void release(uint16_t id) {
    if (--refs_[id] == 0) recycle(id);
  }
  // Publishes recycled buffers to the kernel; called once per loop iteration.
  void flush();

 private:
  void recycle(uint16_t id);

  Ring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  uint8_t* base_ = nullptr;
  unsigned count_ = 0;
  unsigned size_ = 0;
  unsigned available_ = 0;
  int pending_ = 0;
  std::vector<uint16_t> refs_;
};

}  // namespace sluice::proxy
