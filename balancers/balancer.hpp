// The interface every balancer implements, and the per-core state a worker keeps for it.
//
// A balancer is built once, on the control thread, from an immutable endpoint list, and is
// then shared read-only by all workers (pick() is const and touches no member). Everything
// that changes per pick lives in the caller's CoreState (one per worker per balancer, never
// shared) or in the shared LoadView counters (relaxed atomics).
//
// Next candidates: call pick() again with the endpoints already tried added to the
// exclusion. Hash balancers then walk on from the key's position deterministically; the
// others move on as their algorithm would. Health is an overlay of the same kind, so an
// endpoint going down never forces a rebuild.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "balancers/endpoint.hpp"
#include "balancers/load.hpp"

namespace sluice::balancers {

// splitmix64: tiny, fast and good enough to choose among endpoints; not for secrets.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) by multiply-shift (Lemire) instead of a division; the bias is below
  // n / 2^32, irrelevant for endpoint counts.
  uint32_t below(uint32_t n) {
    return static_cast<uint32_t>((static_cast<uint64_t>(static_cast<uint32_t>(next())) * n) >> 32);
  }

 private:
  uint64_t state_;
};

// Owned by one worker; never shared. Give each worker a different seed and start cursor
// so workers do not march through endpoints in lockstep.
struct alignas(64) CoreState {
  explicit CoreState(uint64_t seed = 0, uint32_t start_cursor = 0)
      : cursor(start_cursor), rng(seed) {}
  uint32_t cursor;  // reduced modulo the balancer's size on use, so any value is valid
  Rng rng;
};

struct PickInput {
  uint64_t key = 0;    // consistent_hash: the request key's hash (see key_hash.hpp)
  Exclusion excluded;  // unhealthy, ejected, already tried
  LoadView load;       // least_conn, p2c, bounded-load hashing: size() entries
  int64_t now_ns = 0;  // p2c with ewma_latency: the caller's clock (no clock reads here)
};

class Balancer {
 public:
  virtual ~Balancer() = default;

  // The index of the endpoint to use, or nullopt when every endpoint is excluded (or a
  // load-aware balancer got a LoadView of the wrong size: a caller bug, asserted in debug).
  // Any worker thread; no allocation, no I/O, no exceptions.
  virtual std::optional<uint32_t> pick(const PickInput& in, CoreState& core) const = 0;

  virtual uint32_t size() const = 0;
  virtual std::string_view name() const = 0;
};

}  // namespace sluice::balancers
