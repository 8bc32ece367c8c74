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
// Besides them, buffers of sluice's own (adopt()): bytes that did not come from a
// receive but must travel the same way (TLS plaintext), so that everything that
// slices received buffers without copying (bodies, tunnels) takes them too.
class BufferRing {
 public:
  static constexpr uint16_t kGroup = 0;

  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  std::string init(Ring& ring, unsigned count, unsigned size);
  uint8_t* data(uint16_t id) const {
    if (id >= count_)
      return reinterpret_cast<uint8_t*>(const_cast<char*>(adopted_[id - count_].data()));
    return base_ + static_cast<size_t>(id) * size_;
  }
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
    if (--refs_[id] == 0) id < count_ ? recycle(id) : drop(id);
  }
  // A buffer id for `bytes` (not empty), holding one reference as a received one does; freed
  // when the last holder releases it. kNone when every id is taken (tens of thousands of
  // chunks queued on one worker): the caller keeps the bytes another way.
  static constexpr uint16_t kNone = 0xffff;
  uint16_t adopt(std::string bytes);
  size_t adopted() const { return adopted_.size() - adopted_free_.size(); }  // for tests
  // Publishes recycled buffers to the kernel; called once per loop iteration.
  void flush();

 private:
  void recycle(uint16_t id);
  void drop(uint16_t id);

  Ring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  uint8_t* base_ = nullptr;
  unsigned count_ = 0;
  unsigned size_ = 0;
  unsigned available_ = 0;
  int pending_ = 0;
  std::vector<uint16_t> refs_;        // kernel buffers, then adopted ones
  std::vector<std::string> adopted_;  // id count_ + i; empty when free
  std::vector<uint16_t> adopted_free_;
};

}  // namespace sluice::proxy
