// The clocks the data plane reads. Any thread.
#pragma once

#include <time.h>

#include <cstdint>

namespace sluice::proxy::clock {

// Precise monotonic time, for latency samples and limiter decisions.
inline int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Cheap monotonic milliseconds (a few ms coarse), read once per loop iteration for deadlines.
inline uint64_t coarse_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// Wall-clock time, for access log timestamps.
inline int64_t unix_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace sluice::proxy::clock
