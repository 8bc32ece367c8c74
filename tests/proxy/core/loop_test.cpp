// Loop on its own: posted tasks, buffer waiters and a bounded run_once.
#include "proxy/core/loop.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace sluice::proxy {
namespace {

// A task that logs its name when it runs, then does whatever `then` says.
class NamedTask : public Task {
 public:
  NamedTask(std::vector<std::string>& log, std::string name) : log_(log), name_(std::move(name)) {}
  void run_task() override {
    log_.push_back(name_);
    if (then) then();
  }
  std::function<void()> then;

 private:
  std::vector<std::string>& log_;
  std::string name_;
};

class CountingWaiter : public BufferWaiter {
 public:
  void on_buffers_available() override {
    ++woken;
    if (then) then();
  }
  int woken = 0;
  std::function<void()> then;
};

using Log = std::vector<std::string>;

class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string error = loop_.init(64, 16, 4096);
    if (!error.empty()) GTEST_SKIP() << error;
  }
  Loop loop_;
  Log log_;
};

TEST_F(LoopTest, TaskPostedTwiceRunsOnce) {
  NamedTask a(log_, "a");
  loop_.post(a);
  loop_.post(a);
  EXPECT_TRUE(a.posted());
  ASSERT_TRUE(loop_.run_once(0));
  EXPECT_EQ(log_, Log{"a"});
  EXPECT_FALSE(a.posted());
  ASSERT_TRUE(loop_.run_once(0));
  EXPECT_EQ(log_, Log{"a"});  // and not again
}

TEST_F(LoopTest, UnpostTakesTheTaskOffAndKeepsTheQueueLinked) {
  NamedTask a(log_, "a"), b(log_, "b"), c(log_, "c"), d(log_, "d");
  loop_.post(a);
  loop_.post(b);
  loop_.post(c);
  loop_.unpost(b);  // from the middle
  EXPECT_FALSE(b.posted());
  loop_.unpost(c);  // the tail: `d` must still be reachable after `a`
  loop_.post(d);
  loop_.unpost(c);  // not queued any more: nothing happens
  ASSERT_TRUE(loop_.run_once(0));
  EXPECT_EQ(log_, (Log{"a", "d"}));

  loop_.post(a);
  loop_.unpost(a);  // the only one: the queue is empty again
  loop_.post(b);
  ASSERT_TRUE(loop_.run_once(0));
  EXPECT_EQ(log_, (Log{"a", "d", "b"}));
}

TEST_F(LoopTest, TasksPostedByTasksRunInTheSameDrain) {
  NamedTask a(log_, "a"), b(log_, "b"), c(log_, "c");
  int reposts = 0;
  a.then = [&] { loop_.post(b); };
  b.then = [&] {
    if (reposts++ > 0) return;
    loop_.post(c);
    loop_.post(b);  // a task may post itself again once it has started
  };
  loop_.post(a);
  ASSERT_TRUE(loop_.run_once(0));
  EXPECT_EQ(log_, (Log{"a", "b", "c", "b"}));
}

TEST_F(LoopTest, RunOnceReturnsAfterItsTimeoutWhenNothingHappens) {
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop_.run_once(30));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(25));  // it did wait...
  EXPECT_LT(elapsed, std::chrono::seconds(2));        // ...and came back
  // The loop's clock moved with it.
  const uint64_t before = loop_.now_ms();
  ASSERT_TRUE(loop_.run_once(30));
  EXPECT_GE(loop_.now_ms(), before + 20);
}

TEST_F(LoopTest, BufferWaitersAreWokenOnceWhenBuffersAreAvailable) {
  CountingWaiter w, gone;
  NamedTask t(log_, "posted by the waiter");
  w.then = [&] { loop_.post(t); };
  loop_.wait_for_buffers(&w);
  loop_.wait_for_buffers(&w);  // registered once only
  loop_.wait_for_buffers(&gone);
  loop_.forget_waiting(&gone);  // its owner went away: never called
  ASSERT_TRUE(loop_.run_once(0));
  EXPECT_EQ(w.woken, 1);
  EXPECT_EQ(gone.woken, 0);
  EXPECT_EQ(log_, Log{"posted by the waiter"});  // tasks it posts run before run_once returns
  ASSERT_TRUE(loop_.run_once(0));
  EXPECT_EQ(w.woken, 1);  // a waiter waits once per registration
}

TEST_F(LoopTest, TimersUseTheLoopClock) {
  struct Owner : TimerOwner {
    void on_timer(int) override { ++fired; }
    int fired = 0;
  } owner;
  TimerNode node(&owner, 0);
  loop_.timers(1).start(node, loop_.now_ms());
  EXPECT_EQ(&loop_.timers(1), &loop_.timers(1));
  loop_.expire_timers();  // the clock has not moved: not due
  EXPECT_EQ(owner.fired, 0);
  // Bounded: the coarse clock ticks every few milliseconds.
  for (int i = 0; i < 100 && owner.fired == 0; ++i) {
    ASSERT_TRUE(loop_.run_once(5));
    loop_.expire_timers();
  }
  EXPECT_EQ(owner.fired, 1);
}

}  // namespace
}  // namespace sluice::proxy
