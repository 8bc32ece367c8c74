// Micro-benchmarks for per-key global limits (GlobalKeyedLimiter): the decision a worker makes,
// which never waits on Redis, and the control thread's collect of a round.
//   BM_GlobalKeyed_OneKey/{bucket,fixed,sliding}    one hot key (lookup + decision)
//   BM_GlobalKeyed_ManyKeys/{bucket,fixed,sliding}  random keys over 10^5 (cache misses)
//   BM_GlobalKeyed_Collect                          one round's collect over 10^5 touched keys
// Time is a counter advanced per iteration: no clock call is measured. Target: <= 30 ns, as for
// local limits.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "limiter/global_keyed_limiter.hpp"

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;

constexpr size_t kKeys = 100'000;

GlobalLimitOptions options(GlobalAlgorithm algorithm, size_t max_keys) {
  GlobalLimitOptions o;
  o.name = "bench";
  o.count = 100;
  o.per = 1s;
  o.algorithm = algorithm;
  o.max_keys = max_keys;
  return o;
}

GlobalAlgorithm algorithm_of(const benchmark::State& state) {
  return static_cast<GlobalAlgorithm>(state.range(0));
}

void BM_GlobalKeyed_OneKey(benchmark::State& state) {
  GlobalKeyedLimiter limiter(options(algorithm_of(state), 1024));
  limiter.set_redis_ok(true);
  Nanos now = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.admit(42, now));
    now += 10;
  }
}
BENCHMARK(BM_GlobalKeyed_OneKey)->ArgName("algorithm")->DenseRange(0, 2);

void BM_GlobalKeyed_ManyKeys(benchmark::State& state) {
  GlobalKeyedLimiter limiter(options(algorithm_of(state), kKeys));
  limiter.set_redis_ok(true);
  std::minstd_rand rng(1);
  Nanos now = 0;
  for (auto _ : state) {
    const uint64_t key = (rng() % kKeys) * 0xD6E8FEB86659FD93ull;
    benchmark::DoNotOptimize(limiter.admit(key, now));
    now += 10;
  }
}
BENCHMARK(BM_GlobalKeyed_ManyKeys)->ArgName("algorithm")->DenseRange(0, 2);

// The control thread's part of a round for 10^5 keys decided since the last (the EVALs and
// Redis' work come on top).
void BM_GlobalKeyed_Collect(benchmark::State& state) {
  GlobalKeyedLimiter limiter(options(GlobalAlgorithm::fixed_window, kKeys));
  limiter.set_redis_ok(true);
  std::vector<GlobalKeySync> round;
  round.reserve(2 * kKeys);
  for (auto _ : state) {
    state.PauseTiming();
    for (size_t k = 0; k < kKeys; ++k) limiter.admit(k * 0xD6E8FEB86659FD93ull, 0);
    round.clear();
    state.ResumeTiming();
    limiter.collect(0, round);
  }
  state.counters["keys"] = static_cast<double>(round.size());
}
BENCHMARK(BM_GlobalKeyed_Collect)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::limiter

BENCHMARK_MAIN();
