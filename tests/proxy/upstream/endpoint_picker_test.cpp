// EndpointPicker on clusters larger than one 64-bit word of exclusions: every
// endpoint once, untry, outlier ejection, and deterministic hash walks.
#include "proxy/upstream/endpoint_picker.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "limiter/outlier_detector.hpp"
#include "tests/proxy/upstream/upstream_test_util.hpp"

namespace sluice::proxy {
namespace {

constexpr uint32_t kEndpoints = 200;
constexpr int64_t kNow = 1'000'000'000'000;

// Picks until none is left; the endpoints in pick order.
std::vector<uint32_t> walk(EndpointPicker& picker, const ClusterRuntime& c,
                           balancers::CoreState& core, uint64_t key = 0, int64_t now = kNow) {
  std::vector<uint32_t> out;
  while (std::optional<uint32_t> e = picker.pick(c, core, key, now)) {
    out.push_back(*e);
    if (out.size() > 2 * kEndpoints) break;  // a picker that never ends fails below
  }
  return out;
}

TEST(EndpointPicker, PicksEveryEndpointOnceThenNone) {
  test::Clusters clusters;
  const ClusterRuntime& c = clusters.add(test::fake_addresses(kEndpoints), "round_robin");
  balancers::CoreState core(0, 37);  // start mid-list, so the walk wraps
  EndpointPicker picker;
  picker.reset(c);
  const std::vector<uint32_t> picked = walk(picker, c, core);
  ASSERT_EQ(picked.size(), kEndpoints);
  EXPECT_EQ(std::set<uint32_t>(picked.begin(), picked.end()).size(), kEndpoints);
  EXPECT_EQ(picker.tried(), kEndpoints);
  EXPECT_FALSE(picker.has_candidate(c, kNow));
  EXPECT_EQ(picker.pick(c, core, 0, kNow), std::nullopt);

  // reset() starts a new walk over the same cluster.
  picker.reset(c);
  EXPECT_EQ(picker.tried(), 0u);
  EXPECT_EQ(walk(picker, c, core).size(), kEndpoints);
}

TEST(EndpointPicker, UntryMakesOneEndpointEligibleAgain) {
  test::Clusters clusters;
  const ClusterRuntime& c = clusters.add(test::fake_addresses(kEndpoints), "round_robin");
  balancers::CoreState core;
  EndpointPicker picker;
  picker.reset(c);
  ASSERT_EQ(walk(picker, c, core).size(), kEndpoints);

  picker.untry(150);  // beyond the first 64-bit word
  EXPECT_EQ(picker.tried(), kEndpoints - 1);
  EXPECT_TRUE(picker.has_candidate(c, kNow));
  EXPECT_EQ(picker.pick(c, core, 0, kNow), std::optional<uint32_t>(150));
  EXPECT_EQ(picker.pick(c, core, 0, kNow), std::nullopt);
  EXPECT_EQ(picker.tried(), kEndpoints);

  picker.untry(150);
  picker.untry(150);  // twice: counted once
  EXPECT_EQ(picker.tried(), kEndpoints - 1);
}

TEST(EndpointPicker, EjectedEndpointsAreSkippedAndNotCountedAsTried) {
  test::Clusters clusters;
  ClusterRuntime& c = clusters.add(test::fake_addresses(kEndpoints), "round_robin");
  limiter::OutlierOptions options;
  options.consecutive_5xx = 1;
  options.consecutive_connect_failures = 1;
  options.max_ejected_percent = 100;
  c.outliers = std::make_shared<limiter::OutlierDetector>(options, kEndpoints);
  ASSERT_TRUE(c.outliers->on_connect_failure(70, kNow));
  ASSERT_TRUE(c.outliers->on_5xx(130, kNow));
  ASSERT_TRUE(c.outliers->on_connect_failure(199, kNow));  // the very last one

  for (uint32_t start : {0u, 69u, 129u, 198u}) {
    SCOPED_TRACE(start);
    balancers::CoreState core(0, start);  // the round robin lands on an ejected one first
    EndpointPicker picker;
    picker.reset(c);
    const std::vector<uint32_t> picked = walk(picker, c, core);
    const std::set<uint32_t> distinct(picked.begin(), picked.end());
    EXPECT_EQ(picked.size(), kEndpoints - 3);
    EXPECT_EQ(distinct.size(), kEndpoints - 3);
    EXPECT_EQ(distinct.count(70), 0u);
    EXPECT_EQ(distinct.count(130), 0u);
    EXPECT_EQ(distinct.count(199), 0u);
    EXPECT_EQ(picker.tried(), kEndpoints - 3);
  }

  // Once the ejection has run out they are picked again.
  const int64_t later = kNow + options.base_ejection.count();
  balancers::CoreState core;
  EndpointPicker picker;
  picker.reset(c);
  EXPECT_EQ(walk(picker, c, core, 0, later).size(), kEndpoints);
}

TEST(EndpointPicker, AllEjectedGivesNothingAtAll) {
  test::Clusters clusters;
  ClusterRuntime& c = clusters.add(test::fake_addresses(kEndpoints), "round_robin");
  limiter::OutlierOptions options;
  options.consecutive_connect_failures = 1;
  options.max_ejected_percent = 100;
  c.outliers = std::make_shared<limiter::OutlierDetector>(options, kEndpoints);
  for (uint32_t i = 0; i < kEndpoints; ++i) ASSERT_TRUE(c.outliers->on_connect_failure(i, kNow));
  balancers::CoreState core;
  EndpointPicker picker;
  picker.reset(c);
  EXPECT_EQ(picker.pick(c, core, 0, kNow), std::nullopt);
  EXPECT_EQ(picker.tried(), 0u);
}

TEST(EndpointPicker, ConsistentHashWalkIsDeterministicForAKey) {
  test::Clusters clusters;
  const ClusterRuntime& c = clusters.add(test::fake_addresses(kEndpoints), "consistent_hash");
  const uint64_t key = 0x9e3779b97f4a7c15ULL;
  // Two workers with different cursors and seeds: the hash walk ignores both.
  balancers::CoreState core_a(1, 0), core_b(2, 123);
  EndpointPicker a, b;
  a.reset(c);
  b.reset(c);
  const std::vector<uint32_t> first = walk(a, c, core_a, key);
  const std::vector<uint32_t> second = walk(b, c, core_b, key);
  ASSERT_EQ(first.size(), kEndpoints);  // the walk still reaches every endpoint
  EXPECT_EQ(std::set<uint32_t>(first.begin(), first.end()).size(), kEndpoints);
  EXPECT_EQ(first, second);

  // A key elsewhere on the ring walks differently (keys are already hashes:
  // neighbouring values share a ring segment).
  EndpointPicker other;
  other.reset(c);
  EXPECT_NE(walk(other, c, core_a, key ^ (uint64_t{1} << 63)), first);
}

TEST(EndpointPicker, PassesOverEndpointsBackingOffWhileOthersAreLeft) {
  test::Clusters clusters;
  const ClusterRuntime& c = clusters.add(test::fake_addresses(kEndpoints), "round_robin");
  // Endpoints whose last connect failed (one beyond the first 64-bit word).
  for (uint32_t i : {3u, 70u, 199u}) c.endpoints.state(i).connect_failed(kNow);
  balancers::CoreState core;
  EndpointPicker picker;
  picker.reset(c);
  std::vector<uint32_t> picked = walk(picker, c, core);
  // Every other endpoint first, then the three after all, not an empty answer.
  ASSERT_EQ(picked.size(), kEndpoints);
  const std::set<uint32_t> last(picked.end() - 3, picked.end());
  EXPECT_EQ(last, (std::set<uint32_t>{3, 70, 199}));

  // The back-off ends after its time, and a successful connect ends it at once.
  EXPECT_TRUE(c.endpoints.state(3).backing_off(kNow + EndpointState::kFirstBackoffNs - 1));
  EXPECT_FALSE(c.endpoints.state(3).backing_off(kNow + EndpointState::kFirstBackoffNs));
  c.endpoints.state(70).connect_succeeded();
  EXPECT_FALSE(c.endpoints.state(70).backing_off(kNow));
}

TEST(EndpointPicker, BackOffDoublesWithEachFailureUpToTenSeconds) {
  EndpointState state(1);
  int64_t expected = EndpointState::kFirstBackoffNs;
  for (int failure = 0; failure < 8; ++failure) {
    state.connect_failed(kNow);
    EXPECT_EQ(state.backoff_until_ns.load(), kNow + expected) << "failure " << failure;
    expected = std::min(expected * 2, EndpointState::kMaxBackoffNs);
  }
}

TEST(EndpointPicker, HasCandidateIgnoresTriedAndEjectedButCountsBackingOff) {
  test::Clusters clusters;
  ClusterRuntime& c = clusters.add(test::fake_addresses(3), "round_robin");
  limiter::OutlierOptions options;
  options.consecutive_5xx = 1;
  options.max_ejected_percent = 100;
  c.outliers = std::make_shared<limiter::OutlierDetector>(options, 3);
  balancers::CoreState core;
  EndpointPicker picker;
  picker.reset(c);
  const std::optional<uint32_t> first = picker.pick(c, core, 0, kNow);
  ASSERT_TRUE(first.has_value());
  // One of the two left is ejected, the other backs off: a retry still has somewhere to go.
  const uint32_t a = (*first + 1) % 3, b = (*first + 2) % 3;
  ASSERT_TRUE(c.outliers->on_5xx(a, kNow));
  c.endpoints.state(b).connect_failed(kNow);
  EXPECT_TRUE(picker.has_candidate(c, kNow));
  EXPECT_EQ(picker.pick(c, core, 0, kNow), std::optional<uint32_t>(b));
  EXPECT_FALSE(picker.has_candidate(c, kNow));  // tried, tried and ejected
}

}  // namespace
}  // namespace sluice::proxy
