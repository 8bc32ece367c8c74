// Thin ownership wrappers over liburing: the ring itself, the provided-buffer
// ring that all multishot receives of one worker share, and the tagging of
// completion user_data. Each object belongs to exactly one worker thread.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::proxy {

// Everything that submits io_uring operations implements this; a completion's
// user_data is the handler's address with the operation kind in the low 4 bits.
// user_data 0 marks completions nobody needs to see (cancels, linked timeouts).
class alignas(16) IoHandler {
 public:
  virtual void on_completion(unsigned op, int result, unsigned flags) = 0;

 protected:
  ~IoHandler() = default;
};

inline uint64_t tag(IoHandler* handler, unsigned op) {
  return reinterpret_cast<uint64_t>(handler) | op;
}

class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  // Must run on the thread that will submit (SINGLE_ISSUER). On failure
  // returns a message that says why io_uring is unusable here.
  std::string init(unsigned entries);

  // Never returns null: when the submission queue is full it submits first.
  io_uring_sqe* sqe();
  io_uring* raw() { return &ring_; }
  const char* mode() const { return mode_; }

 private:
  io_uring ring_{};
  bool ready_ = false;
  const char* mode_ = "";
};

// Anything whose multishot receive ended with -ENOBUFS and waits for buffers.
class BufferWaiter {
 public:
  virtual void on_buffers_available() = 0;

 protected:
  ~BufferWaiter() = default;
};

// One group of equally sized receive buffers registered with the kernel. The
// kernel picks a buffer per multishot receive completion; it goes back to the
// kernel when the last holder releases it (an HTTP session may keep the rest of
// a buffer for the next pipelined request while its first part is sent on).
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
