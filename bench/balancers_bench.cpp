// ns per pick for every balancer at 10, 100 and 1000 endpoints, on one and two threads.
// Balancers and load counters are shared (as in the proxy); each thread has its own
// CoreState. Picks go through the Balancer interface, the way the proxy calls them.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "balancers/key_hash.hpp"
#include "balancers/registry.hpp"

namespace {

using namespace sluice::balancers;

struct Fixture {
  std::vector<Endpoint> endpoints;
  std::vector<EndpointLoad> loads;
  std::vector<EndpointLoad*> load_ptrs;
  LoadTotal total;
  std::unique_ptr<Balancer> balancer;
};

// Built once per (balancer, n) and shared by the benchmark's threads.
Fixture& fixture(const std::string& name, const Options& options, uint32_t n, bool weighted) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Fixture>> cache;
  const std::string key = name + "/" + std::to_string(static_cast<int>(options.algorithm)) + "/" +
                          std::to_string(static_cast<int>(options.load)) + "/" +
                          std::to_string(options.bounded_load.has_value()) + "/" +
                          std::to_string(options.virtual_nodes) + "/" + std::to_string(n);
  std::lock_guard lock(mu);
  auto& slot = cache[key];
  if (!slot) {
    auto f = std::make_unique<Fixture>();
    Rng rng(n);
    for (uint32_t i = 0; i < n; ++i) {
      f->endpoints.push_back(
          {"10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80",
           weighted ? 1 + rng.below(10) : 1});
    }
    f->loads = std::vector<EndpointLoad>(n);
    for (uint32_t i = 0; i < n; ++i) {
      f->load_ptrs.push_back(&f->loads[i]);
      const uint32_t in_flight = rng.below(50);
      f->loads[i].in_flight = in_flight;
      f->total.in_flight += in_flight;
      observe_latency(f->loads[i], 1'000'000 + rng.below(5'000'000), 1'000'000'000, 10'000'000'000);
    }
    auto built = make_balancer(name, f->endpoints, options);
    f->balancer = std::move(built.balancer);
    slot = std::move(f);
  }
  return *slot;
}

void run(benchmark::State& state, const std::string& name, const Options& options,
         bool weighted = false) {
  Fixture& f = fixture(name, options, static_cast<uint32_t>(state.range(0)), weighted);
  if (!f.balancer) {
    state.SkipWithError("build failed");
    return;
  }
  const Balancer& b = *f.balancer;
  CoreState core(0x1234 + state.thread_index(), state.thread_index() * 7);
  // A fresh random key per pick (also for balancers that ignore it, ~1 ns): a small
  // repeating key set would keep the touched ring/table lines in cache.
  Rng keys(state.thread_index() + 1);
  PickInput in;
  in.load = {f.load_ptrs, &f.total};
  in.now_ns = 1'500'000'000;
  for (auto _ : state) {
    in.key = keys.next();
    benchmark::DoNotOptimize(b.pick(in, core));
  }
}

void BM_RoundRobin(benchmark::State& s) {
  run(s, "round_robin", {});
}
void BM_WeightedRoundRobin(benchmark::State& s) {
  run(s, "weighted_round_robin", {}, true);
}
void BM_LeastConn(benchmark::State& s) {
  run(s, "least_conn", {});
}
void BM_P2cInFlight(benchmark::State& s) {
  run(s, "p2c", {});
}
void BM_P2cEwma(benchmark::State& s) {
  Options o;
  o.load = P2cLoad::ewma_latency;
  run(s, "p2c", o);
}
void BM_Maglev(benchmark::State& s) {
  Options o;
  o.algorithm = HashAlgorithm::maglev;
  run(s, "consistent_hash", o);
}
void BM_MaglevBounded(benchmark::State& s) {
  Options o;
  o.algorithm = HashAlgorithm::maglev;
  o.bounded_load = 1.25;
  run(s, "consistent_hash", o);
}
void BM_Ring160(benchmark::State& s) {
  run(s, "consistent_hash", {});
}
void BM_Ring160Bounded(benchmark::State& s) {
  Options o;
  o.bounded_load = 1.25;
  run(s, "consistent_hash", o);
}

// 1000 points per endpoint: a million points at n = 1000, the ring's worst cache case.
void BM_Ring1000(benchmark::State& s) {
  Options o;
  o.virtual_nodes = 1000;
  run(s, "consistent_hash", o);
}

#define SLUICE_BALANCER_BENCH(fn) \
  BENCHMARK(fn)->Arg(10)->Arg(100)->Arg(1000)->Threads(1)->Threads(2)->UseRealTime()

SLUICE_BALANCER_BENCH(BM_RoundRobin);
SLUICE_BALANCER_BENCH(BM_WeightedRoundRobin);
SLUICE_BALANCER_BENCH(BM_LeastConn);
SLUICE_BALANCER_BENCH(BM_P2cInFlight);
SLUICE_BALANCER_BENCH(BM_P2cEwma);
SLUICE_BALANCER_BENCH(BM_Maglev);
SLUICE_BALANCER_BENCH(BM_MaglevBounded);
SLUICE_BALANCER_BENCH(BM_Ring160);
SLUICE_BALANCER_BENCH(BM_Ring160Bounded);
SLUICE_BALANCER_BENCH(BM_Ring1000);

void BM_HashKeyIpv4(benchmark::State& state) {
  uint32_t ip = 0x0a000001;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        hash_key(std::string_view(reinterpret_cast<const char*>(&ip), sizeof ip)));
    ++ip;
  }
}
BENCHMARK(BM_HashKeyIpv4);

void BM_HashKeyHeader32(benchmark::State& state) {
  std::string header = "session-0123456789abcdef01234567";
  for (auto _ : state) {
    benchmark::DoNotOptimize(hash_key(header));
    ++header[8];
  }
}
BENCHMARK(BM_HashKeyHeader32);

}  // namespace

BENCHMARK_MAIN();
