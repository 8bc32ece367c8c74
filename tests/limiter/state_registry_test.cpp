#include "limiter/state_registry.hpp"

#include "limiter/circuit_breaker.hpp"
#include "limiter/keyed_limiter.hpp"

#include <gtest/gtest.h>

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;

TEST(StateRegistry, SameOptionsKeepStateChangedOptionsReplaceIt) {
  StateRegistry<KeyedRateLimiter, RateLimitOptions> reg;
  RateLimitOptions o{.count = 1, .per = 1s, .burst = 1, .max_keys = 64};
  auto a = reg.get_or_create("per-client", o);
  EXPECT_TRUE(a->admit(1, 0).admitted);
  EXPECT_FALSE(a->admit(1, 0).admitted);

  auto again = reg.get_or_create("per-client", o);  // reload, unchanged policy
  EXPECT_EQ(again, a);
  EXPECT_FALSE(again->admit(1, 0).admitted);  // bucket carried over

  o.count = 2;
  auto changed = reg.get_or_create("per-client", o);  // policy changed: fresh state
  EXPECT_NE(changed, a);
  EXPECT_TRUE(changed->admit(1, 0).admitted);
  EXPECT_FALSE(a->admit(1, 0).admitted);  // the old one lives on for snapshots still using it

  reg.get_or_create("other", o);
  EXPECT_EQ(reg.size(), 2u);
  reg.retain_only({"other"});
  EXPECT_EQ(reg.size(), 1u);
  EXPECT_EQ(reg.find("per-client"), nullptr);
}

TEST(StateRegistry, BreakersByClusterName) {
  StateRegistry<CircuitBreaker, CircuitBreakerOptions> reg;
  auto b = reg.get_or_create("api", {});
  for (int i = 0; i < 5; ++i) b->on_failure(0);
  EXPECT_EQ(reg.get_or_create("api", {})->state(), BreakerState::open);
}

}  // namespace
}  // namespace sluice::limiter
