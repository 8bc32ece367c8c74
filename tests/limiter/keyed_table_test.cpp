#include "limiter/keyed_limiter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <thread>

#include <gtest/gtest.h>

// Count every heap allocation in this binary, to prove the table allocates nothing after
// construction however many keys pass through it.
namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kMs = 1'000'000;

TEST(KeyedRateLimiter, KeysAreIndependent) {
  KeyedRateLimiter l({.count = 10, .per = 1s, .burst = 2, .max_keys = 1000});
  EXPECT_TRUE(l.admit(1, 0).admitted);
  EXPECT_TRUE(l.admit(1, 0).admitted);
  EXPECT_FALSE(l.admit(1, 0).admitted);
  EXPECT_TRUE(l.admit(2, 0).admitted);
  EXPECT_TRUE(l.admit(0, 0).admitted);  // key 0 is an ordinary key
  EXPECT_EQ(l.admit(1, 50 * kMs).retry_after, 50 * kMs);
  EXPECT_TRUE(l.admit(1, 100 * kMs).admitted);
}

TEST(KeyedRateLimiter, SlidingWindowPerKey) {
  KeyedRateLimiter l({.algorithm = RateLimitOptions::Algorithm::sliding_window,
                      .count = 3,
                      .per = 1s,
                      .max_keys = 1000});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.admit(7, 0).admitted);
  EXPECT_FALSE(l.admit(7, 0).admitted);
  EXPECT_TRUE(l.admit(8, 0).admitted);
  EXPECT_TRUE(l.admit(7, 2000 * kMs).admitted);
}

TEST(KeyedTable, MillionKeysStayWithinTheBound) {
  KeyedRateLimiter l({.count = 10, .per = 1s, .burst = 5, .max_keys = 100000});
  const size_t bytes = l.table().memory_bytes();
  EXPECT_GE(l.table().capacity(), 100000u);
  EXPECT_LE(l.table().capacity(), 2 * 100000u);
  EXPECT_EQ(bytes, l.table().capacity() / KeyedTable::kWays * 256);

  const uint64_t allocations_before = g_allocations.load();
  std::mt19937_64 rng(1);
  uint64_t admitted = 0;
  for (int i = 0; i < 1'000'000; ++i) admitted += l.admit(rng(), i * 1000).admitted;
  const uint64_t allocations_after = g_allocations.load();

  EXPECT_EQ(allocations_after, allocations_before);  // nothing allocated per key
  EXPECT_EQ(l.table().memory_bytes(), bytes);
  EXPECT_LE(l.table().size(), l.table().capacity());
  EXPECT_GT(l.table().size(), l.table().capacity() * 9 / 10);  // the space is actually used
  EXPECT_EQ(admitted, 1'000'000u);                             // every key new: all fresh buckets
  EXPECT_GT(l.table().evictions(), 0u);
}

TEST(KeyedTable, HotKeySurvivesAFloodOfNewKeys) {
  KeyedRateLimiter l({.count = 1, .per = 1s, .burst = 1, .max_keys = 1024});
  std::mt19937_64 rng(3);
  EXPECT_TRUE(l.admit(42, 0).admitted);
  for (int i = 1; i <= 200000; ++i) {
    l.admit(rng(), i);
    // The hot key keeps being seen, so LRU never picks it: it stays limited.
    if (i % 4 == 0) {
      ASSERT_FALSE(l.admit(42, i).admitted) << i;
    }
  }
}

TEST(KeyedTable, IdleTtlForgetsKeysWithoutChangingDecisions) {
  KeyedRateLimiter l({.count = 10, .per = 1s, .burst = 2, .max_keys = 64});
  EXPECT_TRUE(l.admit(5, 0).admitted);
  EXPECT_TRUE(l.admit(5, 0).admitted);
  EXPECT_FALSE(l.admit(5, 50 * kMs).admitted);  // only half a token back
  // Default TTL is the refill time; after it, the key is fresh (and the bucket is full anyway).
  EXPECT_TRUE(l.admit(5, 2000 * kMs).admitted);
  EXPECT_TRUE(l.admit(5, 2000 * kMs).admitted);
  EXPECT_FALSE(l.admit(5, 2000 * kMs).admitted);

  KeyedTable t(16, 10 * kMs);
  t.with_state(9, 0, [](uint64_t& s) { return s = 77; });
  EXPECT_EQ(t.with_state(9, 5 * kMs, [](uint64_t& s) { return s; }), 77u);
  EXPECT_EQ(t.with_state(9, 14 * kMs, [](uint64_t& s) { return s; }), 77u);  // seen at 5 ms
  EXPECT_EQ(t.with_state(9, 30 * kMs, [](uint64_t& s) { return s; }), 0u);   // idle 16 ms
}

TEST(KeyedTable, TwoThreadsOnOneKeyDoNotOverAdmit) {
  KeyedRateLimiter l({.count = 100, .per = 1s, .burst = 500, .max_keys = 1024});
  std::atomic<int> admitted{0};
  auto worker = [&] {
    for (int i = 0; i < 200000; ++i) admitted += l.admit(77, 0).admitted;
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  EXPECT_EQ(admitted.load(), 500);
}

}  // namespace
}  // namespace sluice::limiter
