// Per-endpoint load counters: the only state balancers share across cores.
//
// They live outside any balancer (the proxy keeps them keyed by endpoint identity, so a
// config reload or a discovery update does not reset them) and are handed to pick() as a
// LoadView: one pointer per balancer index, built on the control thread with the snapshot.
//
// Threads: any thread may call begin_request/end_request/observe_latency on any counter
// block; all accesses are relaxed atomics. A pick reads counters another core is writing,
// which is fine: balancing needs a recent value, not a consistent snapshot.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <span>

namespace sluice::balancers {

// One cache line per endpoint so cores updating different endpoints never share a line.
struct alignas(64) EndpointLoad {
  // Requests (L7) or connections (L4) sent and not finished, counted from the moment the
  // endpoint is picked, so connections still being established count too.
  std::atomic<uint32_t> in_flight{0};
  // Peak-EWMA latency in nanoseconds (a double's bits) and the time of its last update.
  std::atomic<uint64_t> ewma_bits{0};
  std::atomic<int64_t> ewma_stamp_ns{0};
};

// The cluster-wide in-flight total, used only by bounded-load hashing (which otherwise
// has to sum every endpoint's counter on each pick). Its own line: it is the one counter
// every core writes.
struct alignas(64) LoadTotal {
  std::atomic<uint64_t> in_flight{0};
};

// endpoints[i] is the counter block of balancer index i; `total` may be null.
struct LoadView {
  std::span<EndpointLoad* const> endpoints;
  LoadTotal* total = nullptr;
};

// Call right after a pick, before connecting.
inline void begin_request(EndpointLoad& e, LoadTotal* total) {
  e.in_flight.fetch_add(1, std::memory_order_relaxed);
  if (total != nullptr) total->in_flight.fetch_add(1, std::memory_order_relaxed);
}

// Call once per begin_request, whatever the outcome (success, failure, timeout).
inline void end_request(EndpointLoad& e, LoadTotal* total) {
  e.in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (total != nullptr) total->in_flight.fetch_sub(1, std::memory_order_relaxed);
}

// exp(-x) for x >= 0 as (1 + x/16)^-16: within a few percent, monotone, and a handful of
// multiplies instead of a libm call, because P2C evaluates it twice per pick.
inline double decay_factor(int64_t elapsed_ns, int64_t tau_ns) {
  if (elapsed_ns <= 0 || tau_ns <= 0) return elapsed_ns <= 0 ? 1.0 : 0.0;
  const double x = static_cast<double>(elapsed_ns) / static_cast<double>(tau_ns);
  if (x > 64.0) return 0.0;
  double y = 1.0 + x / 16.0;
  y *= y;  // ^2
  y *= y;  // ^4
  y *= y;  // ^8
  y *= y;  // ^16
  return 1.0 / y;
}

// The peak-EWMA estimate as of `now_ns`, decayed for the time since its last sample, so an
// endpoint that stopped receiving traffic because it looked slow becomes attractive again.
inline double ewma_latency_ns(const EndpointLoad& e, int64_t now_ns, int64_t tau_ns) {
  const double v = std::bit_cast<double>(e.ewma_bits.load(std::memory_order_relaxed));
  if (v == 0.0) return 0.0;
  return v * decay_factor(now_ns - e.ewma_stamp_ns.load(std::memory_order_relaxed), tau_ns);
}

// Peak EWMA (Finagle/Linkerd): a sample above the current value replaces it at once, a
// lower one is blended in with weight 1 - exp(-elapsed/tau). Concurrent observers may
// lose a sample to a race on the timestamp; the estimate tolerates that.
inline void observe_latency(EndpointLoad& e, int64_t rtt_ns, int64_t now_ns, int64_t tau_ns) {
  const int64_t last = e.ewma_stamp_ns.exchange(now_ns, std::memory_order_relaxed);
  const double w = decay_factor(now_ns - last, tau_ns);
  const double rtt = static_cast<double>(rtt_ns < 0 ? 0 : rtt_ns);
  uint64_t old_bits = e.ewma_bits.load(std::memory_order_relaxed);
  for (;;) {
    const double old = std::bit_cast<double>(old_bits);
    const double next = rtt > old ? rtt : old * w + rtt * (1.0 - w);
    if (e.ewma_bits.compare_exchange_weak(old_bits, std::bit_cast<uint64_t>(next),
                                          std::memory_order_relaxed)) {
      return;
    }
  }
}

}  // namespace sluice::balancers
