// A one-word test-and-test-and-set lock for critical sections of a few dozen instructions
// (per-key table sets, breaker transitions). Any thread. Never held across I/O or allocation.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace sluice::limiter {

class SpinLock {
 public:
  void lock() noexcept {
    for (uint32_t spins = 0; locked_.exchange(true, std::memory_order_acquire);) {
      while (locked_.load(std::memory_order_relaxed)) {
        // Yield after a while: with more threads than cores the holder may be descheduled.
        if (++spins > 64) {
          std::this_thread::yield();
        } else {
          pause();
        }
      }
    }
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  std::atomic<bool> locked_{false};
};

}  // namespace sluice::limiter
