#include "proxy/core/chunk_queue.hpp"

#include <utility>

namespace sluice::proxy {

void ChunkQueue::grow() {
  std::vector<Chunk> bigger(chunks_.size() * 2);
  for (size_t i = 0; i < count_; ++i) bigger[i] = at(i);
  chunks_.swap(bigger);
  head_ = 0;
}

void ChunkQueue::swap(ChunkQueue& other) {
  // The byte totals stay each queue's own; the bytes that move count as pushed
  // into their new queue (and consumed from the old), as append() counts them.
  const size_t mine = queued_;
  pushed_ += other.queued_;
  other.pushed_ += mine;
  chunks_.swap(other.chunks_);
  std::swap(head_, other.head_);
  std::swap(count_, other.count_);
  std::swap(queued_, other.queued_);
  owned_.swap(other.owned_);
}

void ChunkQueue::push_chunk(Chunk chunk) {
  if (chunk.length == 0) return;
  if (count_ == chunks_.size()) grow();
  at(count_) = chunk;
  ++count_;
  queued_ += chunk.length;
  pushed_ += chunk.length;
}

void ChunkQueue::push_slice(BufferRing& buffers, uint16_t buffer, uint32_t offset,
                            uint32_t length) {
  if (length == 0) return;
  buffers.retain(buffer);
  push_chunk({buffer, offset, length});
}

void ChunkQueue::append(ChunkQueue& from) {
  if (from.count_ == 0) return;
  const size_t moved = from.queued_;
  if (count_ == 0) {
    // The common case (a relay forwarding what just arrived to an idle
    // sender): take the other queue's storage whole instead of copying chunks.
    chunks_.swap(from.chunks_);
    // Member swap: std::swap would move-construct a deque, which allocates.
    if (!from.owned_.empty()) owned_.swap(from.owned_);
    head_ = std::exchange(from.head_, 0);
    count_ = std::exchange(from.count_, 0);
    queued_ = moved;
    pushed_ += moved;
    from.queued_ = 0;
    return;
  }
  size_t owned_index = 0;
  for (size_t i = 0; i < from.count_; ++i) {
    const Chunk c = from.at(i);
    if (c.buffer == kOwned) owned_.push_back(std::move(from.owned_[owned_index++]));
    push_chunk(c);
  }
  if (owned_index != 0) from.owned_.clear();
  from.head_ = 0;
  from.count_ = 0;
  from.queued_ = 0;
}

void ChunkQueue::push_owned(std::string bytes) {
  if (bytes.empty()) return;
  const auto length = static_cast<uint32_t>(bytes.size());
  owned_.push_back(std::move(bytes));
  push_chunk({kOwned, 0, length});
}

std::string_view ChunkQueue::front(const BufferRing& buffers) const {
  const Chunk& c = at(0);
  const char* base = c.buffer == kOwned ? owned_.front().data()
                                        : reinterpret_cast<const char*>(buffers.data(c.buffer));
  return {base + c.offset, c.length};
}

msghdr* ChunkQueue::prepare_send(const BufferRing& buffers) {
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

void ChunkQueue::consume(size_t bytes, BufferRing& buffers) {
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
