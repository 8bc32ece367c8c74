// UpdateGuard: exact sequences of what a discovery source's updates do to a cluster's set —
// the first set applies, ordinary changes apply at once, a drastic one (all, or at least half,
// removed) waits for its confirm window and applies only if the source still says so, and a
// source error keeps the last good set.
#include "proxy/control/discovery/update_guard.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::proxy::discovery {
namespace {

constexpr limiter::Nanos kSecond = 1'000'000'000;
using Verdict = UpdateGuard::Verdict;

std::vector<DiscoveredEndpoint> set(std::initializer_list<int> last_octets) {
  std::vector<DiscoveredEndpoint> out;
  for (int o : last_octets) out.push_back({"10.0.0." + std::to_string(o) + ":80", 1});
  return out;
}

TEST(UpdateGuardTest, TheFirstSetAppliesEvenEmpty) {
  UpdateGuard g;
  EXPECT_FALSE(g.has_set());
  EXPECT_EQ(g.offer({}, 5 * kSecond), Verdict::apply);
  EXPECT_TRUE(g.has_set());
  EXPECT_TRUE(g.current().empty());
  EXPECT_EQ(g.last_success(), 5 * kSecond);
}

TEST(UpdateGuardTest, OrdinaryChangesApplyAtOnceAndTheSameSetIsNoChange) {
  UpdateGuard g;
  ASSERT_EQ(g.offer(set({1, 2, 3, 4}), 0), Verdict::apply);
  EXPECT_EQ(g.offer(set({1, 2, 3, 4}), kSecond), Verdict::unchanged);
  EXPECT_EQ(g.offer(set({1, 2, 3, 4, 5}), 2 * kSecond), Verdict::apply);  // added
  EXPECT_EQ(g.offer(set({1, 2, 3, 5}), 3 * kSecond), Verdict::apply);     // 1 of 5 removed
  EXPECT_EQ(g.current(), set({1, 2, 3, 5}));
  // A new weight is a change too.
  auto reweighted = set({1, 2, 3, 5});
  reweighted[0].weight = 7;
  EXPECT_EQ(g.offer(reweighted, 4 * kSecond), Verdict::apply);
  EXPECT_EQ(g.current()[0].weight, 7u);
}

TEST(UpdateGuardTest, RemovingHalfOrAllIsHeldUntilItPersistsForTheWindow) {
  UpdateGuard g({.confirm_window = 30 * kSecond, .hold_fraction = 0.5});
  ASSERT_EQ(g.offer(set({1, 2, 3, 4}), 0), Verdict::apply);
  EXPECT_EQ(g.offer(set({1, 2}), 10 * kSecond), Verdict::hold);  // half: drastic
  EXPECT_EQ(g.reason(),
            "would remove 2 of 4 endpoints: held for 30 s unless the source "
            "changes its mind");
  EXPECT_EQ(g.current(), set({1, 2, 3, 4}));
  ASSERT_TRUE(g.held().has_value());
  EXPECT_EQ(g.held()->since, 10 * kSecond);
  // Said again inside the window: still held, the window still runs from the first time.
  EXPECT_EQ(g.offer(set({1, 2}), 20 * kSecond), Verdict::hold);
  EXPECT_EQ(g.tick(39 * kSecond), Verdict::unchanged);
  // The window ends with the source still saying so: it applies.
  EXPECT_EQ(g.tick(40 * kSecond), Verdict::apply);
  EXPECT_EQ(g.current(), set({1, 2}));
  EXPECT_EQ(g.reason(), "confirmed after 30 s: removes 2 of 4 endpoints");
  EXPECT_FALSE(g.held().has_value());
  // Emptying the cluster is drastic whatever the fraction.
  UpdateGuard all({.confirm_window = 30 * kSecond, .hold_fraction = 1.0});
  ASSERT_EQ(all.offer(set({1, 2, 3}), 0), Verdict::apply);
  EXPECT_EQ(all.offer({}, kSecond), Verdict::hold);
  EXPECT_EQ(all.offer({}, 31 * kSecond), Verdict::apply);  // said again after the window
  EXPECT_TRUE(all.current().empty());
}

TEST(UpdateGuardTest, AHeldUpdateTheSourceTakesBackNeverApplies) {
  UpdateGuard g({.confirm_window = 30 * kSecond, .hold_fraction = 0.5});
  ASSERT_EQ(g.offer(set({1, 2, 3, 4}), 0), Verdict::apply);
  EXPECT_EQ(g.offer({}, kSecond), Verdict::hold);  // a truncated answer, say
  EXPECT_EQ(g.offer(set({1, 2, 3, 4}), 2 * kSecond), Verdict::unchanged);  // back to normal
  EXPECT_FALSE(g.held().has_value());
  EXPECT_EQ(g.tick(60 * kSecond), Verdict::unchanged);
  EXPECT_EQ(g.current(), set({1, 2, 3, 4}));
  // A different drastic set restarts the window; an ordinary one replaces the hold.
  EXPECT_EQ(g.offer(set({1}), 70 * kSecond), Verdict::hold);
  EXPECT_EQ(g.offer(set({2}), 80 * kSecond), Verdict::hold);
  EXPECT_EQ(g.held()->since, 80 * kSecond);
  EXPECT_EQ(g.offer(set({1, 2, 3}), 90 * kSecond), Verdict::apply);
  EXPECT_FALSE(g.held().has_value());
  EXPECT_EQ(g.tick(200 * kSecond), Verdict::unchanged);
}

TEST(UpdateGuardTest, ASourceErrorKeepsTheSetAndHoldsConfirmationWhileStale) {
  UpdateGuard g({.confirm_window = 30 * kSecond, .hold_fraction = 0.5});
  ASSERT_EQ(g.offer(set({1, 2, 3, 4}), 0), Verdict::apply);
  EXPECT_EQ(g.offer(set({1}), kSecond), Verdict::hold);
  g.failed("connection refused", 2 * kSecond);
  EXPECT_TRUE(g.stale());
  EXPECT_EQ(g.last_error(), "connection refused");
  EXPECT_EQ(g.current(), set({1, 2, 3, 4}));
  // The source cannot say the update still stands: it is not confirmed while stale.
  EXPECT_EQ(g.tick(40 * kSecond), Verdict::unchanged);
  EXPECT_EQ(g.current(), set({1, 2, 3, 4}));
  EXPECT_EQ(g.last_success(), kSecond);
  // Back, and still saying so: the window has long passed.
  EXPECT_EQ(g.offer(set({1}), 41 * kSecond), Verdict::apply);
  EXPECT_FALSE(g.stale());
  EXPECT_EQ(g.current(), set({1}));
}

}  // namespace
}  // namespace sluice::proxy::discovery
