#include "proxy/core/chunk_queue.hpp"

#include <utility>

namespace sluice::proxy {

void Pipe::grow() {
  std::vector<Chunk> bigger(chunks_.size() * 2);
  for (size_t i = 0; i < count_; ++i) bigger[i] = at(i);
  chunks_.swap(bigger);
  head_ = 0;
}

void Pipe::take_receive(BufferRing& buffers, int result, unsigned flags, bool keep) {
  if (!(flags & IORING_CQE_F_MORE)) {
    receiving = false;
    pausing = false;
  }
  if (!(flags & IORING_CQE_F_BUFFER)) return;
  const auto buffer = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
  buffers.on_received(buffer);
  if (keep && result > 0) {
    push(buffer, static_cast<uint32_t>(result));
  } else {
    buffers.release(buffer);
  }
}

void Pipe::swap(Pipe& other) {
  std::swap(chunks_, other.chunks_);
  std::swap(head_, other.head_);
  std::swap(count_, other.count_);
  std::swap(queued_, other.queued_);
  std::swap(owned_, other.owned_);
}

void Pipe::push_chunk(Chunk chunk) {
  if (chunk.length == 0) return;
  if (count_ == chunks_.size()) grow();
  at(count_) = chunk;
  ++count_;
  queued_ += chunk.length;
  pushed_ += chunk.length;
}

void Pipe::push_slice(BufferRing& buffers, uint16_t buffer, uint32_t offset, uint32_t length) {
  if (length == 0) return;
  buffers.retain(buffer);
  push_chunk({buffer, offset, length});
}

void Pipe::push_owned(std::string bytes) {
  if (bytes.empty()) return;
  const auto length = static_cast<uint32_t>(bytes.size());
  owned_.push_back(std::move(bytes));
  push_chunk({kOwned, 0, length});
}

std::string_view Pipe::front(const BufferRing& buffers) const {
  const Chunk& c = at(0);
  const char* base = c.buffer == kOwned ? owned_.front().data()
                                        : reinterpret_cast<const char*>(buffers.data(c.buffer));
  return {base + c.offset, c.length};
}

msghdr* Pipe::prepare_send(const BufferRing& buffers) {
  int n = 0;
  size_t owned_index = 0;
  for (; n < kMaxIov && static_cast<size_t>(n) < count_; ++n) {
    const Chunk& c = at(n);
    uint8_t* base = c.buffer == kOwned ? reinterpret_cast<uint8_t*>(owned_[owned_index++].data())
                                       : buffers.data(c.buffer);
    iov_[n].iov_base = base + c.offset;
    iov_[n].iov_len = c.length;
  }
  msg_ = msghdr{};
  msg_.msg_iov = iov_;
  msg_.msg_iovlen = n;
  return &msg_;
}

void Pipe::consume(size_t bytes, BufferRing& buffers) {
  queued_ -= bytes;
  while (bytes > 0) {
    Chunk& c = at(0);
    if (bytes < c.length) {
      c.offset += bytes;
      c.length -= bytes;
      return;
    }
    bytes -= c.length;
    if (c.buffer == kOwned) {
      owned_.pop_front();
    } else {
      buffers.release(c.buffer);
    }
    head_ = (head_ + 1) & (chunks_.size() - 1);
    --count_;
  }
}

}  // namespace sluice::proxy
