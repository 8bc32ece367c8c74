#include "proxy/core/buffer_ring.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace sluice::proxy {

BufferRing::~BufferRing() {
  if (br_ != nullptr) {
    io_uring_unregister_buf_ring(ring_->raw(), kGroup);
    munmap(br_, count_ * sizeof(io_uring_buf));
  }
  if (base_ != nullptr) munmap(base_, static_cast<size_t>(count_) * size_);
}

std::string BufferRing::init(Ring& ring, unsigned count, unsigned size) {
  ring_ = &ring;
  count_ = count;
  size_ = size;
  void* ring_mem = mmap(nullptr, count * sizeof(io_uring_buf), PROT_READ | PROT_WRITE,
                        MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  void* data_mem = mmap(nullptr, static_cast<size_t>(count) * size, PROT_READ | PROT_WRITE,
                        MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_mem == MAP_FAILED || data_mem == MAP_FAILED)
    return std::string("cannot allocate receive buffers: ") + std::strerror(errno);
  br_ = static_cast<io_uring_buf_ring*>(ring_mem);
  base_ = static_cast<uint8_t*>(data_mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = count;
  reg.bgid = kGroup;
  int err = io_uring_register_buf_ring(ring.raw(), &reg, 0);
  if (err != 0) {
    munmap(br_, count * sizeof(io_uring_buf));
    br_ = nullptr;
    return std::string("provided buffer rings are not supported (") + std::strerror(-err) +
           "): sluice needs Linux >= 6.0";
  }
  io_uring_buf_ring_init(br_);
  refs_.assign(count, 0);
  for (unsigned i = 0; i < count; ++i) recycle(static_cast<uint16_t>(i));
  flush();
  return {};
}

void BufferRing::recycle(uint16_t id) {
  io_uring_buf_ring_add(br_, data(id), size_, id, io_uring_buf_ring_mask(count_), pending_++);
  ++available_;
}

uint16_t BufferRing::adopt(std::string bytes) {
  uint16_t id;
  if (!adopted_free_.empty()) {
    id = adopted_free_.back();
    adopted_free_.pop_back();
  } else {
    // Ids below kNone; ChunkQueue's own marker for owned chunks (0xffff) is never one.
    if (count_ + adopted_.size() >= kNone) return kNone;
    id = static_cast<uint16_t>(count_ + adopted_.size());
    adopted_.emplace_back();
    refs_.push_back(0);
  }
  adopted_[id - count_] = std::move(bytes);
  refs_[id] = 1;
  return id;
}

void BufferRing::drop(uint16_t id) {
  std::string().swap(adopted_[id - count_]);  // the memory goes now
  adopted_free_.push_back(id);
}

void BufferRing::flush() {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, pending_);
  pending_ = 0;
}

}  // namespace sluice::proxy
