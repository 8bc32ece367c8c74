// ControlLoop timers, posted work and other threads: deadline order, cancellation within an
// iteration, 0 ms timers, every(), post(), wake-ups from another thread, max_wait. No test
// sleeps longer than the delay it is about.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "proxy/control/loop/control_loop.hpp"
#include "tests/control/loop_test_support.hpp"

namespace sluice::proxy::control {
namespace {

using namespace std::chrono_literals;

TEST(ControlLoop, TimersRunInDeadlineOrder) {
  ControlLoop loop;
  std::string order;
  const auto begin = Clock::now();
  std::vector<Clock::duration> late;
  auto mark = [&](char c, std::chrono::milliseconds due) {
    return [&, c, due] {
      order += c;
      late.push_back(Clock::now() - begin - due);
    };
  };
  loop.after(30ms, mark('d', 30ms));
  loop.after(10ms, mark('a', 10ms));
  loop.after(20ms, mark('b', 20ms));
  loop.after(20ms, mark('c', 20ms));  // same deadline or later than 'b': armed after it
  loop.run_until([&] { return order.size() == 4; });
  EXPECT_EQ(order, "abcd");
  for (auto d : late) EXPECT_GE(d, 0ms) << "a timer ran before its deadline";

  // Several due in one iteration still run in deadline order, not in arming order.
  order.clear();
  loop.after(6ms, [&] { order += 'y'; });
  loop.after(2ms, [&] { order += 'x'; });
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(loop.run_once(0ms), 2u);
  EXPECT_EQ(order, "xy");
}

TEST(ControlLoop, CancelledTimersDoNotRun) {
  ControlLoop loop;
  int ran = 0;
  const ControlLoop::TimerId early = loop.after(10ms, [&] { ran += 100; });
  loop.cancel(early);
  loop.cancel(early);  // twice: nothing
  loop.cancel(0);      // never an id
  loop.cancel(12345);  // unknown
  size_t count = 1;
  // Nothing else is armed: the wait is max_wait, not the cancelled deadline.
  EXPECT_GE(timed([&] { count = loop.run_once(40ms); }), 40ms);
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(ran, 0);

  // Both due in the same iteration; the first cancels the second.
  ControlLoop::TimerId second = 0;
  loop.after(1ms, [&] {
    ++ran;
    loop.cancel(second);
  });
  second = loop.after(2ms, [&] { ran += 100; });
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(loop.run_once(0ms), 1u);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(loop.run_once(10ms), 0u);
  EXPECT_EQ(ran, 1);
}

TEST(ControlLoop, ZeroDelayTimerRunsWithoutWaiting) {
  ControlLoop loop;
  int ran = 0;
  loop.after(0ms, [&] { ++ran; });
  size_t count = 0;
  EXPECT_LT(timed([&] { count = loop.run_once(10s); }), 500ms);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(ran, 1);
  // Armed by a timer, a 0 ms timer waits for the next iteration (a timer re-arming itself at
  // 0 ms must not keep one iteration from ending), which then does not wait.
  loop.after(0ms, [&] { loop.after(0ms, [&] { ran += 10; }); });
  EXPECT_EQ(loop.run_once(10s), 1u);
  EXPECT_EQ(ran, 1);
  EXPECT_LT(timed([&] { count = loop.run_once(10s); }), 500ms);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(ran, 11);
}

TEST(ControlLoop, EveryRepeatsUntilCancelled) {
  ControlLoop loop;
  int ticks = 0;
  ControlLoop::TimerId id = 0;
  const auto waited = timed([&] {
    id = loop.every(10ms, [&] {
      if (++ticks == 5) loop.cancel(id);  // from inside its own run
    });
    loop.run_until([&] { return ticks == 5; });
  });
  EXPECT_GE(waited, 50ms);
  EXPECT_EQ(loop.run_once(30ms), 0u);
  EXPECT_EQ(ticks, 5);

  // Cancelled from outside.
  int other = 0;
  const ControlLoop::TimerId periodic = loop.every(5ms, [&] { ++other; });
  loop.run_until([&] { return other == 2; });
  loop.cancel(periodic);
  EXPECT_EQ(loop.run_once(20ms), 0u);
  EXPECT_EQ(other, 2);
}

TEST(ControlLoop, PostRunsAtTheStartOfTheNextIteration) {
  ControlLoop loop;
  std::string order;
  loop.post([&] { order += 'a'; });
  loop.post([&] { order += 'b'; });
  EXPECT_EQ(order, "");
  // Work that ran means no wait, even with a long max_wait: the caller sees its effects.
  size_t count = 0;
  EXPECT_LT(timed([&] { count = loop.run_once(10s); }), 500ms);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(order, "ab");

  // Posted from a handler: not in the same iteration, first thing in the next one.
  Pipe pipe;
  pipe.put();
  ASSERT_TRUE(loop.watch(pipe.read_end, EPOLLIN, [&](uint32_t) {
    loop.unwatch(pipe.read_end);
    loop.post([&] { order += 'c'; });
  }));
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  EXPECT_EQ(order, "ab");
  // What posted work posts waits its turn.
  loop.post([&] { loop.post([&] { order += 'd'; }); });
  EXPECT_LT(timed([&] { count = loop.run_once(10s); }), 500ms);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(order, "abc");
  EXPECT_EQ(loop.run_once(10s), 1u);
  EXPECT_EQ(order, "abcd");
}

TEST(ControlLoop, PostFromAnotherThreadWakesABlockedWait) {
  ControlLoop loop;
  bool ran = false;  // the posted function runs on this thread
  std::thread other([&] {
    std::this_thread::sleep_for(50ms);
    loop.post_from_any_thread([&] { ran = true; });
  });
  size_t count = 0;
  const auto waited = timed([&] { count = loop.run_once(10s); });
  other.join();
  EXPECT_LT(waited, 500ms);
  EXPECT_TRUE(ran);
  EXPECT_EQ(count, 1u);

  // A bare wake() ends the wait too.
  std::thread waker([&] {
    std::this_thread::sleep_for(50ms);
    loop.wake();
  });
  EXPECT_LT(timed([&] { count = loop.run_once(10s); }), 500ms);
  waker.join();
  EXPECT_EQ(count, 0u);
}

TEST(ControlLoop, PostsFromManyThreadsEachRunOnce) {
  ControlLoop loop;
  constexpr int kThreads = 4;
  constexpr int kPosts = 2000;
  std::vector<int> per_thread(kThreads, 0);  // loop thread only
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPosts; ++i) loop.post_from_any_thread([&, t] { ++per_thread[t]; });
    });
  }
  loop.run_until([&] {
    int total = 0;
    for (int n : per_thread) total += n;
    return total == kThreads * kPosts;
  });
  for (auto& t : threads) t.join();
  loop.run_once(0ms);
  EXPECT_EQ(per_thread, std::vector<int>(kThreads, kPosts));
}

TEST(ControlLoop, RunOnceHonoursMaxWaitAndTheEarliestTimer) {
  ControlLoop loop;
  size_t count = 1;
  auto waited = timed([&] { count = loop.run_once(50ms); });
  EXPECT_EQ(count, 0u);
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 500ms);

  bool fired = false;
  loop.after(30ms, [&] { fired = true; });
  waited = timed([&] { count = loop.run_once(10s); });
  EXPECT_TRUE(fired);
  EXPECT_EQ(count, 1u);
  EXPECT_GE(waited, 30ms);
  EXPECT_LT(waited, 500ms);

  // max_wait shorter than the timer: returns without running it.
  fired = false;
  loop.after(300ms, [&] { fired = true; });
  waited = timed([&] { count = loop.run_once(20ms); });
  EXPECT_FALSE(fired);
  EXPECT_EQ(count, 0u);
  EXPECT_LT(waited, 250ms);
  const auto before = loop.now();
  loop.run_once(0ms);
  EXPECT_GE(loop.now(), before);
}

}  // namespace
}  // namespace sluice::proxy::control
