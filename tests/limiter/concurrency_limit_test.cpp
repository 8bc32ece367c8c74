#include "limiter/concurrency_limit.hpp"

#include <thread>

#include <gtest/gtest.h>

namespace sluice::limiter {
namespace {

TEST(ConcurrencyLimit, AcquireUpToMaxThenRelease) {
  ConcurrencyLimit l(2);
  EXPECT_TRUE(l.try_acquire());
  EXPECT_TRUE(l.try_acquire());
  EXPECT_FALSE(l.try_acquire());
  EXPECT_EQ(l.rejected(), 1u);
  l.release();
  EXPECT_TRUE(l.try_acquire());
  EXPECT_EQ(l.in_use(), 2u);
}

TEST(ConcurrencyLimit, ZeroIsUnlimited) {
  ConcurrencyLimit l(0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(l.try_acquire());
  EXPECT_EQ(l.in_use(), 1000u);
}

TEST(ConcurrencyLimit, PermitReleasesOnScopeExit) {
  ConcurrencyLimit l(1);
  {
    auto p = ConcurrencyPermit::try_acquire(l);
    EXPECT_TRUE(p);
    EXPECT_FALSE(ConcurrencyPermit::try_acquire(l));
    ConcurrencyPermit moved = std::move(p);
    EXPECT_EQ(l.in_use(), 1u);
  }
  EXPECT_EQ(l.in_use(), 0u);
}

TEST(ConcurrencyLimit, TwoThreadsNeverExceedMax) {
  ConcurrencyLimit l(3);
  std::atomic<uint32_t> peak{0};
  auto worker = [&] {
    for (int i = 0; i < 100000; ++i) {
      if (!l.try_acquire()) continue;
      uint32_t now = l.in_use();
      uint32_t p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      l.release();
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  EXPECT_LE(peak.load(), 3u);
  EXPECT_EQ(l.in_use(), 0u);
}

TEST(ClusterLimits, MirrorsConfigKeys) {
  ClusterLimits c({.max_connections = 1, .max_pending = 2, .max_requests = 0});
  EXPECT_TRUE(c.connections.try_acquire());
  EXPECT_FALSE(c.connections.try_acquire());
  EXPECT_TRUE(c.pending.try_acquire());
  EXPECT_TRUE(c.pending.try_acquire());
  EXPECT_FALSE(c.pending.try_acquire());
  EXPECT_TRUE(c.requests.try_acquire());
}

}  // namespace
}  // namespace sluice::limiter
