#include "proxy/core/chunk_queue.hpp"

#include <utility>

namespace sluice::proxy {

void ChunkQueue::grow() {
  std::vector<Chunk> bigger(chunks_.empty() ? 4 : chunks_.size() * 2);
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
  std::swap(owned_head_, other.owned_head_);
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
    owned_.swap(from.owned_);
    std::swap(owned_head_, from.owned_head_);
    head_ = std::exchange(from.head_, 0);
    count_ = std::exchange(from.count_, 0);
    queued_ = moved;
    pushed_ += moved;
    from.queued_ = 0;
    return;
  }
  for (size_t i = 0; i < from.count_; ++i) {
    const Chunk c = from.at(i);
    if (c.buffer == kOwned) owned_.push_back(std::move(from.owned_[from.owned_head_++]));
    push_chunk(c);
  }
  from.owned_.clear();
  from.owned_head_ = 0;
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
  const char* base = c.buffer == kOwned ? owned_[owned_head_].data()
                                        : reinterpret_cast<const char*>(buffers.data(c.buffer));
  return {base + c.offset, c.length};
}

int ChunkQueue::fill_iov(const BufferRing& buffers, iovec* iov, int max) const {
  int n = 0;
  size_t owned_index = owned_head_;
  for (; n < max && static_cast<size_t>(n) < count_; ++n) {
    const Chunk& c = at(n);
    char* base = c.buffer == kOwned ? const_cast<char*>(owned_[owned_index++].data())
                                    : reinterpret_cast<char*>(buffers.data(c.buffer));
    iov[n].iov_base = base + c.offset;
    iov[n].iov_len = c.length;
  }
  return n;
}

void ChunkQueue::pop_owned() {
  std::string().swap(owned_[owned_head_++]);  // its memory goes now, not when the queue drains
  if (owned_head_ == owned_.size()) {
    owned_.clear();
    owned_head_ = 0;
  } else if (owned_head_ >= 16 && owned_head_ * 2 >= owned_.size()) {
    // A queue that never drains must not grow without bound: drop the spent front.
    owned_.erase(owned_.begin(), owned_.begin() + static_cast<ptrdiff_t>(owned_head_));
    owned_head_ = 0;
  }
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
      pop_owned();
    } else {
      buffers.release(c.buffer);
    }
    head_ = (head_ + 1) & (chunks_.size() - 1);
    --count_;
  }
}

}  // namespace sluice::proxy
