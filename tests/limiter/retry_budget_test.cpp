// RetryBudget: exact admit/refuse sequences for the floor and the ratio, the per-request
// ticket's accounting, and the jittered back-off's bounds and doubling.
#include "limiter/retry_budget.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::limiter {
namespace {

TEST(RetryBudget, FloorAllowsMinConcurrencyRetriesWhateverTheRequests) {
  RetryBudget budget({0.2, 3});
  budget.request_started();  // one request in flight: 0.2 x 1 rounds down to 0
  std::vector<bool> got;
  for (int i = 0; i < 5; ++i) got.push_back(budget.try_retry());
  EXPECT_EQ(got, (std::vector<bool>{true, true, true, false, false}));
  EXPECT_EQ(budget.retries(), 3u);
  EXPECT_EQ(budget.refused(), 2u);
  budget.retry_ended();
  EXPECT_TRUE(budget.try_retry());  // a slot came back
  EXPECT_FALSE(budget.try_retry());
}

TEST(RetryBudget, RatioOfRequestsInFlightAboveTheFloor) {
  RetryBudget budget({0.2, 1});
  for (int i = 0; i < 100; ++i) budget.request_started();
  int allowed = 0;
  while (budget.try_retry()) ++allowed;
  EXPECT_EQ(allowed, 20);  // 0.2 x 100
  // Fewer requests in flight: the allowance shrinks, the retries already out stay.
  for (int i = 0; i < 50; ++i) budget.request_ended();
  for (int i = 0; i < 10; ++i) budget.retry_ended();
  EXPECT_EQ(budget.retries(), 10u);
  EXPECT_FALSE(budget.try_retry());  // 10 >= 0.2 x 50
  budget.retry_ended();
  EXPECT_TRUE(budget.try_retry());
}

TEST(RetryBudget, ZeroFloorAndFewRequestsRefusesEveryRetry) {
  RetryBudget budget({0.5, 0});
  budget.request_started();
  EXPECT_FALSE(budget.try_retry());  // 0.5 x 1 = 0
  budget.request_started();
  EXPECT_TRUE(budget.try_retry());  // 0.5 x 2 = 1
  EXPECT_FALSE(budget.try_retry());
}

TEST(RetryBudgetTicket, HoldsOneRequestAndAtMostOneRetry) {
  RetryBudget budget({0.2, 2});
  {
    RetryBudgetTicket ticket;
    ticket.begin(&budget);
    EXPECT_EQ(budget.requests(), 1u);
    EXPECT_TRUE(ticket.try_retry());
    EXPECT_TRUE(ticket.try_retry());  // the first retry is over: its slot is reused
    EXPECT_EQ(budget.retries(), 1u);
    RetryBudgetTicket other;
    other.begin(&budget);
    EXPECT_TRUE(other.try_retry());
    RetryBudgetTicket third;
    third.begin(&budget);
    EXPECT_FALSE(third.try_retry());  // floor 2 reached, 0.2 x 3 = 0
    EXPECT_EQ(budget.retries(), 2u);
    other.end();
    EXPECT_EQ(budget.retries(), 1u);
    EXPECT_TRUE(third.try_retry());
  }
  EXPECT_EQ(budget.requests(), 0u);
  EXPECT_EQ(budget.retries(), 0u);
}

TEST(RetryBudgetTicket, WithoutABudgetEveryRetryIsAllowed) {
  RetryBudgetTicket ticket;
  ticket.begin(nullptr);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(ticket.try_retry());
}

TEST(Backoff, EqualJitterWithinHalfAndWholeStepDoublingToTheCap) {
  constexpr int64_t kMs = 1'000'000;
  // random 0 gives the lower bound, random = step/2 the upper one.
  EXPECT_EQ(backoff_delay_ns(25 * kMs, 250 * kMs, 1, 0), 12'500'000);
  EXPECT_EQ(backoff_delay_ns(25 * kMs, 250 * kMs, 1, 12'500'000), 25 * kMs);
  EXPECT_EQ(backoff_delay_ns(25 * kMs, 250 * kMs, 2, 0), 25 * kMs);
  EXPECT_EQ(backoff_delay_ns(25 * kMs, 250 * kMs, 3, 0), 50 * kMs);
  EXPECT_EQ(backoff_delay_ns(25 * kMs, 250 * kMs, 4, 0), 100 * kMs);
  EXPECT_EQ(backoff_delay_ns(25 * kMs, 250 * kMs, 5, 0), 125 * kMs);  // step capped at 250
  EXPECT_EQ(backoff_delay_ns(25 * kMs, 250 * kMs, 60, 125 * kMs), 250 * kMs);
  EXPECT_EQ(backoff_delay_ns(0, 250 * kMs, 1, 7), 0);
  for (uint64_t r = 0; r < 1000; ++r) {
    const int64_t d = backoff_delay_ns(10 * kMs, 100 * kMs, 2, r * 7919);
    EXPECT_GE(d, 10 * kMs);
    EXPECT_LE(d, 20 * kMs);
  }
}

}  // namespace
}  // namespace sluice::limiter
