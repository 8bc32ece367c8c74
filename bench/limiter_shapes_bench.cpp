// Micro-benchmarks for the limiter shapes of issue #14: the per-request decisions a worker makes.
//   BM_FixedWindow                  one shared window word (lock-free CAS), uncontended
//   BM_LeakyBucketStep              the pure shaping decision (admit / queue / refuse)
//   BM_Keyed{FixedWindow,LeakyBucket}_OneKey    per-key lookup + decision, one hot key
//   BM_Keyed{FixedWindow,LeakyBucket}_ManyKeys  the same over 10^5 random keys (cache misses)
//   BM_KeyedLeakyBucket_AdmitRefund a decision and its refund (a queued request abandoned)
// Time is a counter advanced per iteration: no clock call is measured. Target: <= 30 ns local.
#include <benchmark/benchmark.h>

#include <random>

#include "limiter/fixed_window.hpp"
#include "limiter/keyed_limiter.hpp"
#include "limiter/leaky_bucket.hpp"

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
using Algorithm = RateLimitOptions::Algorithm;

void BM_FixedWindow(benchmark::State& state) {
  static FixedWindow window({.limit = 1'000'000, .window = 1s});
  Nanos now = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(window.admit(now));
    now += 1000;  // admits most of the time, refuses near the end of each window
  }
}
BENCHMARK(BM_FixedWindow);

// 4x overload of a 1 ns-granular rate: a mix of immediate, queued and refused decisions.
void BM_LeakyBucketStep(benchmark::State& state) {
  const LeakyBucketParams p =
      LeakyBucketParams::from({.count = 250'000'000, .per = 1s, .burst = 1, .queue = 64});
  Nanos tat = 0, now = 0;
  uint64_t queued = 0;
  for (auto _ : state) {
    Nanos next = tat;
    const Decision d = leaky_bucket_step(tat, now, 1, p, &next);
    if (d.admitted) tat = next;
    queued += d.delay > 0;
    now += 1;
  }
  state.counters["queued_ratio"] =
      benchmark::Counter(static_cast<double>(queued) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_LeakyBucketStep);

RateLimitOptions options(Algorithm algorithm, size_t max_keys) {
  RateLimitOptions o;
  o.algorithm = algorithm;
  o.count = 100;
  o.per = 1s;
  o.max_keys = max_keys;
  o.queue = 50;
  return o;
}

void one_key(benchmark::State& state, Algorithm algorithm) {
  KeyedRateLimiter limiter(options(algorithm, 1024));
  Nanos now = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.admit(42, now));
    now += 10;
  }
}
void BM_KeyedFixedWindow_OneKey(benchmark::State& state) {
  one_key(state, Algorithm::fixed_window);
}
void BM_KeyedLeakyBucket_OneKey(benchmark::State& state) {
  one_key(state, Algorithm::leaky_bucket);
}
BENCHMARK(BM_KeyedFixedWindow_OneKey);
BENCHMARK(BM_KeyedLeakyBucket_OneKey);

constexpr size_t kKeys = 100'000;

// Random keys over 10^5 distinct ones (a 4 MiB table): mostly cache misses, as for client IPs.
void many_keys(benchmark::State& state, Algorithm algorithm) {
  KeyedRateLimiter limiter(options(algorithm, kKeys));
  std::minstd_rand rng(1);
  Nanos now = 0;
  for (auto _ : state) {
    const uint64_t key = (rng() % kKeys) * 0xD6E8FEB86659FD93ull;
    benchmark::DoNotOptimize(limiter.admit(key, now));
    now += 10;
  }
}
void BM_KeyedFixedWindow_ManyKeys(benchmark::State& state) {
  many_keys(state, Algorithm::fixed_window);
}
void BM_KeyedLeakyBucket_ManyKeys(benchmark::State& state) {
  many_keys(state, Algorithm::leaky_bucket);
}
BENCHMARK(BM_KeyedFixedWindow_ManyKeys);
BENCHMARK(BM_KeyedLeakyBucket_ManyKeys);

void BM_KeyedLeakyBucket_AdmitRefund(benchmark::State& state) {
  KeyedRateLimiter limiter(options(Algorithm::leaky_bucket, 1024));
  Nanos now = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.admit(42, now));
    limiter.refund(42, now);
    now += 10;
  }
}
BENCHMARK(BM_KeyedLeakyBucket_AdmitRefund);

}  // namespace
}  // namespace sluice::limiter

BENCHMARK_MAIN();
