// TimerList and TimerLists with a fake clock: every `now` is an argument, so
// nothing here sleeps.
#include "proxy/core/timer_list.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace sluice::proxy {
namespace {

// Records which nodes fired, in order; a node's kind is its name.
class Recorder : public TimerOwner {
 public:
  void on_timer(int kind) override {
    fired.push_back(kind);
    if (hook) hook(kind);
  }
  std::vector<int> fired;
  std::function<void(int)> hook;
};

using Fired = std::vector<int>;

TEST(TimerList, ExpiresInDeadlineOrderAndOnlyWhatIsDue) {
  Recorder r;
  TimerNode a(&r, 1), b(&r, 2), c(&r, 3);
  TimerList list(100);
  list.start(a, 1000);
  list.start(b, 1010);
  list.start(c, 1020);
  EXPECT_EQ(list.size(), 3u);

  list.expire(1099);  // nothing is due one millisecond early
  EXPECT_EQ(r.fired, Fired{});
  list.expire(1100);  // due exactly at start + timeout
  EXPECT_EQ(r.fired, Fired{1});
  EXPECT_FALSE(TimerList::running(a));
  EXPECT_TRUE(TimerList::running(b));
  list.expire(1115);
  EXPECT_EQ(r.fired, (Fired{1, 2}));
  list.expire(5000);
  EXPECT_EQ(r.fired, (Fired{1, 2, 3}));
  EXPECT_EQ(list.size(), 0u);
  list.expire(9000);  // an empty list is fine
  EXPECT_EQ(r.fired.size(), 3u);
}

TEST(TimerList, RestartMovesTheNodeToTheTail) {
  Recorder r;
  TimerNode a(&r, 1), b(&r, 2);
  TimerList list(100);
  list.start(a, 0);
  list.start(b, 10);
  list.start(a, 20);  // activity on `a`: its deadline moves past b's
  EXPECT_EQ(list.size(), 2u);
  list.expire(110);
  EXPECT_EQ(r.fired, Fired{2});
  list.expire(119);
  EXPECT_EQ(r.fired, Fired{2});
  list.expire(120);
  EXPECT_EQ(r.fired, (Fired{2, 1}));
}

TEST(TimerList, StopTakesTheNodeOff) {
  Recorder r;
  TimerNode a(&r, 1), b(&r, 2), c(&r, 3), never(&r, 4);
  TimerList list(100);
  list.start(a, 0);
  list.start(b, 0);
  list.start(c, 0);
  TimerList::stop(b);  // from the middle
  TimerList::stop(b);  // twice is harmless
  TimerList::stop(never);
  EXPECT_FALSE(TimerList::running(b));
  EXPECT_EQ(list.size(), 2u);
  TimerList::stop(c);  // the tail: a node started next must link after `a`
  TimerNode d(&r, 5);
  list.start(d, 0);
  list.expire(100);
  EXPECT_EQ(r.fired, (Fired{1, 5}));
  EXPECT_EQ(list.size(), 0u);
}

TEST(TimerList, ForEachMayStopTheNodeItIsGiven) {
  Recorder r;
  TimerNode a(&r, 1), b(&r, 2), c(&r, 3);
  TimerList list(100);
  list.start(a, 0);
  list.start(b, 1);
  list.start(c, 2);
  std::vector<int> seen;
  list.for_each([&](TimerNode& n) {
    seen.push_back(n.kind);
    if (n.kind == 2) TimerList::stop(n);
  });
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(list.size(), 2u);

  list.for_each([](TimerNode& n) { TimerList::stop(n); });  // a drain stops everything
  EXPECT_EQ(list.size(), 0u);
  list.expire(1000);
  EXPECT_EQ(r.fired, Fired{});
}

TEST(TimerList, OwnerMayRestartItsNodeFromOnTimer) {
  Recorder r;
  TimerNode a(&r, 1), b(&r, 2);
  TimerList list(100);
  list.start(a, 0);
  list.start(b, 50);
  // A restart at `now` is not due again in the same sweep: no endless loop,
  // and `b` (due) still fires.
  r.hook = [&](int kind) {
    if (kind == 1) list.start(a, 200);
  };
  list.expire(200);
  EXPECT_EQ(r.fired, (Fired{1, 2}));
  EXPECT_TRUE(TimerList::running(a));
  r.hook = nullptr;
  list.expire(300);
  EXPECT_EQ(r.fired, (Fired{1, 2, 1}));
}

TEST(TimerList, StartOnAnotherListMovesTheNode) {
  Recorder r;
  TimerNode a(&r, 1);
  TimerList shorter(10), longer(1000);
  shorter.start(a, 0);
  longer.start(a, 0);
  EXPECT_EQ(shorter.size(), 0u);
  EXPECT_EQ(longer.size(), 1u);
  shorter.expire(500);
  EXPECT_EQ(r.fired, Fired{});
  longer.expire(1000);
  EXPECT_EQ(r.fired, Fired{1});
}

TEST(TimerLists, OneListPerTimeoutEachExpiringOnItsOwn) {
  Recorder r;
  TimerLists lists;
  TimerList& fast = lists.get(100);
  TimerList& slow = lists.get(5000);
  EXPECT_EQ(&lists.get(100), &fast);  // the same list again, not a new one
  EXPECT_NE(&fast, &slow);
  TimerNode a(&r, 1), b(&r, 2);
  slow.start(a, 0);
  fast.start(b, 0);
  lists.expire(100);
  EXPECT_EQ(r.fired, Fired{2});
  lists.expire(4999);
  EXPECT_EQ(r.fired, Fired{2});
  lists.expire(5000);
  EXPECT_EQ(r.fired, (Fired{2, 1}));
}

}  // namespace
}  // namespace sluice::proxy
