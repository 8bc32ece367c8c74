#include "limiter/outlier_detector.hpp"

#include <gtest/gtest.h>

namespace sluice::limiter {
namespace {

using namespace std::chrono_literals;
constexpr Nanos kSec = 1'000'000'000;

OutlierOptions opts() {
  return {.consecutive_5xx = 3,
          .consecutive_connect_failures = 2,
          .base_ejection = 30s,
          .max_ejected_percent = 50};
}

TEST(OutlierDetector, EjectsAfterConsecutive5xxForBaseTimesCount) {
  OutlierDetector d(opts(), 4);
  EXPECT_FALSE(d.on_5xx(0, 0));
  EXPECT_FALSE(d.on_5xx(0, 0));
  d.on_success(0);  // streak broken
  EXPECT_FALSE(d.on_5xx(0, 0));
  EXPECT_FALSE(d.on_5xx(0, 0));
  EXPECT_TRUE(d.on_5xx(0, 0));
  EXPECT_TRUE(d.is_ejected(0, 0));
  EXPECT_TRUE(d.is_ejected(0, 30 * kSec - 1));
  EXPECT_FALSE(d.is_ejected(0, 30 * kSec));  // back by itself
  EXPECT_EQ(d.ejected_count(1 * kSec), 1u);

  // Second ejection lasts twice as long.
  for (int i = 0; i < 3; ++i) d.on_5xx(0, 40 * kSec);
  EXPECT_TRUE(d.is_ejected(0, 40 * kSec + 60 * kSec - 1));
  EXPECT_FALSE(d.is_ejected(0, 40 * kSec + 60 * kSec));
  EXPECT_EQ(d.times_ejected(0), 2u);
  EXPECT_EQ(d.ejections(), 2u);
}

TEST(OutlierDetector, EjectsAfterConsecutiveConnectFailures) {
  OutlierDetector d(opts(), 4);
  EXPECT_FALSE(d.on_connect_failure(2, 0));
  EXPECT_TRUE(d.on_connect_failure(2, 0));
  EXPECT_TRUE(d.is_ejected(2, 0));
  EXPECT_FALSE(d.is_ejected(1, 0));
}

TEST(OutlierDetector, NeverEjectsMoreThanMaxPercent) {
  OutlierDetector d(opts(), 5);  // 50% of 5 -> at most 2 at once
  for (size_t ep = 0; ep < 5; ++ep) {
    for (int i = 0; i < 3; ++i) d.on_5xx(ep, 0);
  }
  EXPECT_EQ(d.ejected_count(0), 2u);
  EXPECT_EQ(d.skipped_by_cap(), 3u);
  // Once the first two come back, the still-failing ones can be ejected on their next 5xx.
  EXPECT_TRUE(d.on_5xx(2, 30 * kSec));
  EXPECT_TRUE(d.on_5xx(3, 30 * kSec));
  EXPECT_FALSE(d.on_5xx(4, 30 * kSec));
  EXPECT_EQ(d.ejected_count(30 * kSec), 2u);

  OutlierDetector single(opts(), 1);  // 50% of 1 rounds down: never eject the only endpoint
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(single.on_5xx(0, 0));
}

}  // namespace
}  // namespace sluice::limiter
