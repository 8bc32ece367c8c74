// Micro-benchmarks for limiter/: the per-request decisions a worker makes.
//   BM_TokenBucket           one shared GCRA word, uncontended (and ->Threads(2) contended)
//   BM_KeyedLimiter_*        per-key lookup + decision in a 10^6-key table
//   BM_SlidingWindow, BM_CircuitBreaker_*, BM_ConcurrencyLimit
// (Global limits' worker side: global_limit_bench.cpp.)
// Time is a counter advanced per iteration: no clock call is measured.
#include <benchmark/benchmark.h>

#include <atomic>
#include <random>

#include "limiter/circuit_breaker.hpp"
#include "limiter/concurrency_limit.hpp"
#include "limiter/keyed_limiter.hpp"
#include "limiter/sliding_window.hpp"
#include "limiter/token_bucket.hpp"

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;

// Each thread runs its own fake clock; runs share buckets, so every run starts its clocks where
// the previous run's ended (otherwise a later run would find the bucket's TAT far in its future).
std::atomic<Nanos> g_epoch{0};
void end_run(Nanos now) {
  Nanos seen = g_epoch.load();
  while (seen < now && !g_epoch.compare_exchange_weak(seen, now)) {
  }
}

// Admitting ~half the time: each thread alone offers 2x the rate of a 1 ns-granular bucket.
void BM_TokenBucket(benchmark::State& state) {
  static TokenBucket bucket({.count = 500'000'000, .per = 1s, .burst = 1000});
  Nanos now = g_epoch.load();
  uint64_t admitted = 0;
  for (auto _ : state) {
    admitted += bucket.admit(now).admitted;
    now += 1;
  }
  end_run(now);
  state.counters["admit_ratio"] =
      benchmark::Counter(static_cast<double>(admitted) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_TokenBucket);
BENCHMARK(BM_TokenBucket)->Threads(2)->UseRealTime();

// Every call admitted: each one is a successful CAS (worst case for contention).
void BM_TokenBucketAllAdmitted(benchmark::State& state) {
  static TokenBucket bucket({.count = 1'000'000'000, .per = 1s, .burst = 1'000'000'000});
  Nanos now = 1'000'000'000'000;
  for (auto _ : state) benchmark::DoNotOptimize(bucket.admit(now));
}
BENCHMARK(BM_TokenBucketAllAdmitted);
BENCHMARK(BM_TokenBucketAllAdmitted)->Threads(2)->UseRealTime();

void BM_SlidingWindow(benchmark::State& state) {
  static SlidingWindow window({.limit = 1'000'000, .window = 1s});
  Nanos now = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(window.admit(now));
    now += 1000;
  }
}
BENCHMARK(BM_SlidingWindow);

constexpr size_t kKeys = 1'000'000;

KeyedRateLimiter& million_key_limiter() {
  static KeyedRateLimiter limiter({.count = 100, .per = 1s, .burst = 50, .max_keys = kKeys});
  return limiter;
}

// Random keys over 10^6 distinct ones: a cache miss per lookup, as for client IPs. (Keys are a
// cheap function of a random index so that the benchmark itself adds no second cache miss.)
void BM_KeyedLimiter_MillionKeys(benchmark::State& state) {
  KeyedRateLimiter& limiter = million_key_limiter();
  std::minstd_rand rng(state.thread_index() + 1);
  Nanos now = g_epoch.load();
  for (auto _ : state) {
    const uint64_t key = (rng() % kKeys) * 0xD6E8FEB86659FD93ull;
    benchmark::DoNotOptimize(limiter.admit(key, now));
    now += 10;
  }
  end_run(now);
  // Per-thread counters are summed: report the table size once.
  if (state.thread_index() == 0) {
    state.counters["table_MiB"] = static_cast<double>(limiter.table().memory_bytes()) / (1 << 20);
  }
}
BENCHMARK(BM_KeyedLimiter_MillionKeys);
BENCHMARK(BM_KeyedLimiter_MillionKeys)->Threads(2)->UseRealTime();

// One hot key: the set lock is contended when threads > 1.
void BM_KeyedLimiter_OneKey(benchmark::State& state) {
  static KeyedRateLimiter limiter({.count = 100, .per = 1s, .burst = 50, .max_keys = 1024});
  Nanos now = g_epoch.load();
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.admit(42, now));
    now += 10;
  }
  end_run(now);
}
BENCHMARK(BM_KeyedLimiter_OneKey);
BENCHMARK(BM_KeyedLimiter_OneKey)->Threads(2)->UseRealTime();

void BM_CircuitBreaker_ClosedAllowSuccess(benchmark::State& state) {
  static CircuitBreaker breaker(CircuitBreakerOptions{});
  Nanos now = 0;
  for (auto _ : state) {
    BreakerPermit p = breaker.allow(now);
    breaker.on_success(now, p);
    now += 100;
  }
}
BENCHMARK(BM_CircuitBreaker_ClosedAllowSuccess);
BENCHMARK(BM_CircuitBreaker_ClosedAllowSuccess)->Threads(2)->UseRealTime();

void BM_ConcurrencyLimit(benchmark::State& state) {
  static ConcurrencyLimit limit(1000);
  for (auto _ : state) {
    if (limit.try_acquire()) limit.release();
  }
}
BENCHMARK(BM_ConcurrencyLimit);

}  // namespace
}  // namespace sluice::limiter

BENCHMARK_MAIN();
