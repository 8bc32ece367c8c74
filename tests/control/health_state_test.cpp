// One endpoint's verdict from its probe results (proxy/control/health/health_state), with
// the time given: every sequence has an exact expectation.
#include "proxy/control/health/health_state.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy::health {
namespace {

constexpr limiter::Nanos kSecond = 1'000'000'000;

CheckResult ok_at(limiter::Nanos at) {
  return {Outcome::ok, "status 200", at};
}
CheckResult refused_at(limiter::Nanos at) {
  return {Outcome::refused, "connect refused", at};
}

TEST(HealthState, FirstVerdictComesWithTheFirstResult) {
  HealthState up(2, 3, 5 * kSecond, false);
  EXPECT_EQ(up.status(), HealthStatus::pending);
  EXPECT_EQ(up.since(), 5 * kSecond);
  auto t = up.record(ok_at(6 * kSecond));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->from, HealthStatus::pending);
  EXPECT_EQ(t->to, HealthStatus::healthy);
  EXPECT_EQ(t->cause, "first check: status 200");
  EXPECT_EQ(up.since(), 6 * kSecond);
  EXPECT_EQ(up.routable_since(), 6 * kSecond);  // new endpoint: slow start counts from here

  HealthState down(2, 3, 0, false);
  t = down.record(refused_at(kSecond));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to, HealthStatus::unhealthy);
  EXPECT_EQ(t->cause, "first check: connect refused");
  EXPECT_EQ(down.routable_since(), 0);
}

TEST(HealthState, ThresholdsCountResultsInARow) {
  HealthState s(2, 3, 0, false);
  s.record(ok_at(1 * kSecond));
  // Two failures, a success in between resets the count, then three in a row.
  EXPECT_FALSE(s.record(refused_at(2 * kSecond)));
  EXPECT_FALSE(s.record(refused_at(3 * kSecond)));
  EXPECT_FALSE(s.record(ok_at(4 * kSecond)));
  EXPECT_FALSE(s.record(refused_at(5 * kSecond)));
  EXPECT_FALSE(s.record(refused_at(6 * kSecond)));
  EXPECT_EQ(s.status(), HealthStatus::healthy);
  EXPECT_EQ(s.failures_in_row(), 2);
  auto t = s.record({Outcome::timeout, "timeout after 1s (connecting)", 7 * kSecond});
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->from, HealthStatus::healthy);
  EXPECT_EQ(t->to, HealthStatus::unhealthy);
  EXPECT_EQ(t->cause, "3 failures in a row, last: timeout after 1s (connecting)");
  EXPECT_EQ(s.since(), 7 * kSecond);

  // Back after `healthy` (2) successes in a row; a failure in between starts over.
  EXPECT_FALSE(s.record(ok_at(8 * kSecond)));
  EXPECT_FALSE(s.record(refused_at(9 * kSecond)));
  EXPECT_FALSE(s.record(ok_at(10 * kSecond)));
  t = s.record(ok_at(11 * kSecond));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to, HealthStatus::healthy);
  EXPECT_EQ(t->cause, "2 successes in a row, last: status 200");
  EXPECT_EQ(s.routable_since(), 11 * kSecond);  // recovered: slow start again
}

TEST(HealthState, ThresholdsOfOneFlipAtOnce) {
  HealthState s(1, 1, 0, false);
  s.record(ok_at(1));
  auto t = s.record(refused_at(2));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->cause, "1 failure in a row, last: connect refused");
  t = s.record(ok_at(3));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->cause, "1 success in a row, last: status 200");
}

TEST(HealthState, EndpointsThereAtStartDoNotSlowStartButRecoveriesDo) {
  HealthState s(1, 1, 0, true);
  s.record(ok_at(kSecond));
  EXPECT_EQ(s.status(), HealthStatus::healthy);
  EXPECT_EQ(s.routable_since(), 0);
  s.record(refused_at(2 * kSecond));
  s.record(ok_at(3 * kSecond));
  EXPECT_EQ(s.routable_since(), 3 * kSecond);
}

TEST(HealthState, KeepsTheLastFiveResultsAndCountsAll) {
  HealthState s(2, 3, 0, false);
  for (int i = 1; i <= 7; ++i) s.record(i % 2 ? ok_at(i) : refused_at(i));
  s.record({Outcome::bad_status, "status 503", 8});
  ASSERT_EQ(s.last_results().size(), HealthState::kKeptResults);
  EXPECT_EQ(s.last_results().front().at, 4);
  EXPECT_EQ(s.last_results().back().reason, "status 503");
  EXPECT_EQ(s.checks()[static_cast<size_t>(Outcome::ok)], 4u);
  EXPECT_EQ(s.checks()[static_cast<size_t>(Outcome::refused)], 3u);
  EXPECT_EQ(s.checks()[static_cast<size_t>(Outcome::bad_status)], 1u);
  EXPECT_EQ(outcome_name(Outcome::bad_status), "bad_status");
}

}  // namespace
}  // namespace sluice::proxy::health
