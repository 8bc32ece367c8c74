// Leaky-bucket shaping (nginx `limit_req` with `burst`/`delay`): requests leave at the configured
// rate; those that come faster wait in a bounded queue, in arrival order, and only those past the
// queue are refused. The decision says *when* a request may leave; holding it until then is the
// caller's business (the proxy parks the exchange on its worker's loop, no thread waits).
//
// State: one "theoretical arrival time" word, as in the GCRA token bucket — the time at which
// every request admitted so far has left. A request arriving at `now` leaves at
// max(tat, now) - (burst - 1) * emission (never before now), and the TAT moves one emission on.
// So `burst` requests leave at once from an idle bucket, then one every emission; a request
// that would wait longer than `queue` emissions beyond those is refused and changes nothing.
//
// nginx `limit_req zone=z burst=B delay=D` is `burst: D + 1, queue: B - D` here;
// `burst=B nodelay` is `burst: B + 1, queue: 0` (which is the token bucket).
//
// Thread safety: the *_step functions are pure; the per-key table serialises them per key.
#pragma once

#include <chrono>
#include <cstdint>

#include "limiter/decision.hpp"

namespace sluice::limiter {

struct LeakyBucketOptions {
  uint64_t count = 100;  // requests leaving per `per`
  std::chrono::nanoseconds per = std::chrono::seconds(1);
  uint64_t burst = 1;  // leave at once from an idle bucket (>= 1)
  uint64_t queue = 0;  // may wait beyond those, per key
  bool operator==(const LeakyBucketOptions&) const = default;
};

struct LeakyBucketParams {
  Nanos emission = 0;     // time between two departures
  Nanos immediate = 0;    // emission * burst: TAT lead within which a request leaves at once
  Nanos tolerance = 0;    // emission * (burst + queue): TAT lead beyond which it is refused
  uint64_t capacity = 0;  // burst + queue
  static LeakyBucketParams from(const LeakyBucketOptions& o);
};

// One decision on a TAT (0 or any value <= now: an idle bucket). Admitted: *new_tat receives the
// value to store and `delay` how long the request must wait before it leaves (0: at once);
// `remaining` counts requests that would still leave at once. Refused: *new_tat is untouched,
// `retry_after` is when a slot in the queue frees.
Decision leaky_bucket_step(Nanos tat, Nanos now, uint32_t cost, const LeakyBucketParams& p,
                           Nanos* new_tat) noexcept;

// The TAT after a request admitted earlier gives its slot back (it was abandoned while queued,
// or a later limit refused it): one emission per unit of cost, never below `now`. Requests
// queued behind it keep their departure times; the next request admitted takes the freed slot
// at the tail.
Nanos leaky_bucket_refund(Nanos tat, Nanos now, uint32_t cost, const LeakyBucketParams& p) noexcept;

// The TAT that gives a bucket under `to` the backlog (requests admitted and not yet drained) one
// under `from` has at `now`, in `to`'s emissions and at most its capacity: how a reload carries a
// key over. Requests already queued keep their departure times; the new rate applies behind
// them. 0 when nothing is owed.
Nanos leaky_bucket_convert(Nanos tat, Nanos now, const LeakyBucketParams& from,
                           const LeakyBucketParams& to) noexcept;

// Requests admitted and not yet left at `now`, beyond those that leave at once: the queue depth.
uint64_t leaky_bucket_queued(Nanos tat, Nanos now, const LeakyBucketParams& p) noexcept;

}  // namespace sluice::limiter
