// Bounded single-producer/single-consumer queue of AccessRecords: the only link
// between a worker (producer) and the writer thread (consumer). The worker must
// never wait for the log, so a full ring drops the record and counts it rather
// than blocking; the count is how an operator learns the log can't keep up.
//
// Threads: try_push — the one producer thread. drain — the one consumer thread.
// dropped, capacity, size — any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "proxy/access_log/record.hpp"

namespace sluice::access_log {

class RecordRing {
 public:
  // Rounded up to a power of two (at least 2). Slots are raw memory: pages are
  // touched only when the ring first fills that far, so a large capacity on a
  // quiet worker costs address space, not resident memory.
  explicit RecordRing(size_t capacity)
      : capacity_(round_up(capacity)),
        mask_(capacity_ - 1),
        slots_(static_cast<AccessRecord*>(::operator new (
            capacity_ * sizeof(AccessRecord), std::align_val_t{alignof(AccessRecord)}))) {}
  RecordRing(const RecordRing&) = delete;
  RecordRing& operator=(const RecordRing&) = delete;
  ~RecordRing() { ::operator delete (slots_, std::align_val_t{alignof(AccessRecord)}); }

  // Producer thread only. No syscall, lock or allocation.
  bool try_push(const AccessRecord& record) noexcept {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ == capacity_) {
      // Looks full from the stale view; only now pay for the consumer's line.
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ == capacity_) {
        dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return false;
      }
    }
    new (&slots_[tail & mask_]) AccessRecord(record);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer thread only. Calls fn(const AccessRecord&) for at most `max` of
  // the records present when it was called, oldest first, reading the slots in
  // place; the slots go back to the producer only after fn has seen them all,
  // so keep fn short (format, don't write). Returns how many records fn saw.
  template <typename Fn>
  size_t drain(Fn&& fn, size_t max = SIZE_MAX) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    uint64_t tail = tail_.load(std::memory_order_acquire);
    if (tail - head > max) tail = head + max;
    for (uint64_t i = head; i != tail; ++i) fn(slots_[i & mask_]);
    head_.store(tail, std::memory_order_release);
    return static_cast<size_t>(tail - head);
  }

  // Records the producer could not push because the ring was full.
  uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  size_t capacity() const noexcept { return capacity_; }
  // A snapshot that may be stale by the time it returns.
  size_t size() const noexcept {
    return static_cast<size_t>(tail_.load(std::memory_order_acquire) -
                               head_.load(std::memory_order_acquire));
  }

 private:
  static size_t round_up(size_t n) noexcept {
    size_t c = 2;
    while (c < n) c <<= 1;
    return c;
  }

  const size_t capacity_;
  const size_t mask_;
  AccessRecord* const slots_;

  // Indexes count records ever pushed/popped (64 bits never wrap in practice);
  // a slot is index & mask_. Each side writes only its own cache line.
  alignas(64) std::atomic<uint64_t> head_{0};  // consumer
  alignas(64) std::atomic<uint64_t> tail_{0};  // producer
  uint64_t head_cache_ = 0;                    // producer's last view of head_
  std::atomic<uint64_t> dropped_{0};           // producer
};

}  // namespace sluice::access_log
