#include "limiter/keyed_limiter.hpp"

namespace sluice::limiter {
namespace {

TokenBucketOptions bucket_options(const RateLimitOptions& o) {
  return {o.count, o.per, o.burst};
}
SlidingWindowOptions window_options(const RateLimitOptions& o) {
  return {o.count, o.per};
}

}  // namespace

Nanos KeyedRateLimiter::default_ttl(const RateLimitOptions& o) {
  if (o.idle_ttl.count() > 0) return o.idle_ttl.count();
  if (o.algorithm == RateLimitOptions::Algorithm::token_bucket) {
    // A TAT can be at most `tolerance` ahead of the last admission.
    return GcraParams::from(bucket_options(o)).tolerance + 1;
  }
  return 2 * SlidingWindowParams::from(window_options(o)).window;
}

KeyedRateLimiter::KeyedRateLimiter(const RateLimitOptions& options)
    : options_(options),
      gcra_(GcraParams::from(bucket_options(options))),
      window_(SlidingWindowParams::from(window_options(options))),
      table_(options.max_keys, default_ttl(options)) {}

}  // namespace sluice::limiter
