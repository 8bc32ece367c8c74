// Whether to log this request, for `sample` in [0, 1]. One Sampler per worker,
// seeded by the worker index: no shared state, so deciding costs a few
// arithmetic instructions and no cache line leaves the core. The sequence is
// deterministic per worker, which keeps tests exact; it only needs to be
// uncorrelated with request order, not unpredictable.
//
// Threads: construct anywhere; sample() only on the owning worker thread.
#pragma once

#include <cstdint>

namespace sluice::access_log {

class Sampler {
 public:
  explicit Sampler(double rate = 1.0, uint64_t worker_index = 0) noexcept
      : state_(mix(worker_index + 0x5851F42D4C957F2Dull)) {
    // NaN fails both comparisons and ends up "never", the safe reading.
    if (rate >= 1.0) {
      mode_ = Mode::always;
    } else if (rate > 0.0) {
      mode_ = Mode::random;
      // Draws are 53-bit; rate * 2^53 is exact for any double in (0, 1).
      threshold_ = static_cast<uint64_t>(rate * 9007199254740992.0);
    }
  }

  bool sample() noexcept {
    switch (mode_) {
      case Mode::always:
        return true;
      case Mode::never:
        return false;
      case Mode::random:
        return (next() >> 11) < threshold_;
    }
    return false;
  }

 private:
  enum class Mode : uint8_t { never, always, random };

  // splitmix64: one add and three multiply/xor-shift steps, passes BigCrush.
  // Every worker walks the same 2^64 cycle; seeding through the mixer puts
  // their starting points far apart, where seeds w * step would make worker w
  // replay worker 0's draws shifted by w.
  uint64_t next() noexcept { return mix(state_ += 0x9E3779B97F4A7C15ull); }

  static uint64_t mix(uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  uint64_t state_;
  uint64_t threshold_ = 0;
  Mode mode_ = Mode::never;
};

}  // namespace sluice::access_log
