// The result of one rate-limit decision, shaped for `RateLimit`/`Retry-After` headers.
// Plain value; any thread.
#pragma once

#include <cstdint>

namespace sluice::limiter {

// All times in this library are int64_t nanoseconds since an epoch the caller chooses (the proxy
// passes steady_clock; tests pass a fake timeline). Only differences matter.
using Nanos = int64_t;

inline constexpr Nanos kNanosPerSecond = 1'000'000'000;

struct Decision {
  bool admitted = false;
  // Requests of the same cost that would still be admitted right now (after this one).
  uint64_t remaining = 0;
  // Denied: how long until this request would conform (for Retry-After). Admitted: 0.
  // -1 when it can never conform (cost larger than the bucket).
  Nanos retry_after = 0;
  // How long until the limiter is back to its full allowance (for RateLimit "reset").
  Nanos reset = 0;
  // Admitted by a shaping limit (leaky bucket): how long the request waits before it may leave.
  // 0: at once.
  Nanos delay = 0;
  // A global limit's on_error decided, because Redis could not be asked: admitted means
  // failing open (no global count), denied failing closed.
  bool by_on_error = false;
};

}  // namespace sluice::limiter
