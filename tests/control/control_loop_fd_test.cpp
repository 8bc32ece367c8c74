// ControlLoop with pipes and eventfds: readiness, re-registration inside handlers, stale
// events of unwatched fds and of reused fd numbers, destruction with registrations left.
#include <sys/eventfd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "proxy/control/loop/control_loop.hpp"
#include "tests/control/loop_test_support.hpp"

namespace sluice::proxy::control {
namespace {

using namespace std::chrono_literals;

TEST(ControlLoop, StartsOk) {
  ControlLoop loop;
  EXPECT_TRUE(loop.ok()) << loop.error();
  EXPECT_EQ(loop.error(), "");
}

TEST(ControlLoop, PipeAndEventfdReadiness) {
  ControlLoop loop;
  Pipe pipe;
  int event = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(event, 0);
  std::vector<std::pair<char, uint32_t>> seen;
  ASSERT_TRUE(loop.watch(pipe.read_end, EPOLLIN, [&](uint32_t e) { seen.push_back({'p', e}); }));
  ASSERT_TRUE(loop.watch(event, EPOLLIN, [&](uint32_t e) { seen.push_back({'e', e}); }));
  EXPECT_TRUE(loop.watching(event));
  EXPECT_EQ(loop.run_once(0ms), 0u);

  pipe.put();
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::make_pair('p', uint32_t{EPOLLIN}));
  // Level-triggered: unread data is reported again.
  EXPECT_EQ(loop.run_once(0ms), 1u);

  char c;
  ASSERT_EQ(::read(pipe.read_end, &c, 1), 1);
  const uint64_t one = 1;
  ASSERT_EQ(::write(event, &one, sizeof one), 8);
  seen.clear();
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::make_pair('e', uint32_t{EPOLLIN}));

  // The writer closing shows up as EPOLLHUP on the read end.
  ::close(pipe.write_end);
  pipe.write_end = -1;
  uint64_t value;
  ASSERT_EQ(::read(event, &value, sizeof value), 8);
  seen.clear();
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, 'p');
  EXPECT_NE(seen[0].second & EPOLLHUP, 0u);
  loop.unwatch(event);
  loop.unwatch(pipe.read_end);
  ::close(event);
}

TEST(ControlLoop, WatchRefusesWhatItCannotHonour) {
  ControlLoop loop;
  Pipe pipe;
  EXPECT_FALSE(loop.watch(-1, EPOLLIN, [](uint32_t) {}));
  EXPECT_FALSE(loop.watch(pipe.read_end, EPOLLIN | EPOLLET, [](uint32_t) {}));
  EXPECT_TRUE(loop.watch(pipe.read_end, EPOLLIN, [](uint32_t) {}));
  EXPECT_FALSE(loop.watch(pipe.read_end, EPOLLIN, [](uint32_t) {}));  // already watched
  EXPECT_FALSE(loop.modify(pipe.read_end, EPOLLIN | EPOLLONESHOT));
  EXPECT_FALSE(loop.modify(pipe.write_end, EPOLLOUT));  // not watched
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_FALSE(loop.watch(::fileno(file), EPOLLIN, [](uint32_t) {}));  // epoll: EPERM
  EXPECT_FALSE(loop.watching(::fileno(file)));
  std::fclose(file);
  loop.unwatch(pipe.write_end);  // not watched: nothing happens
  loop.unwatch(pipe.read_end);
  EXPECT_FALSE(loop.watching(pipe.read_end));
}

TEST(ControlLoop, EpolloutAndModify) {
  ControlLoop loop;
  Pipe pipe;
  std::vector<uint32_t> seen;
  ASSERT_TRUE(loop.watch(pipe.write_end, EPOLLOUT, [&](uint32_t e) { seen.push_back(e); }));
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  EXPECT_EQ(seen, std::vector<uint32_t>{EPOLLOUT});
  // A write end never becomes readable: no interest, no calls, and the wait runs its course.
  ASSERT_TRUE(loop.modify(pipe.write_end, EPOLLIN));
  size_t ran = 1;
  EXPECT_GE(timed([&] { ran = loop.run_once(30ms); }), 30ms);
  EXPECT_EQ(ran, 0u);
  ASSERT_TRUE(loop.modify(pipe.write_end, EPOLLIN | EPOLLOUT));
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  EXPECT_EQ(seen.back(), uint32_t{EPOLLOUT});
  loop.unwatch(pipe.write_end);
}

TEST(ControlLoop, ModifyInsideTheBatchFiltersTheOtherPendingEvent) {
  ControlLoop loop;
  Pipe a, b;
  a.put();
  b.put();
  int calls = 0;
  auto handler = [&](int other) {
    return [&, other](uint32_t events) {
      ++calls;
      EXPECT_EQ(events, uint32_t{EPOLLIN});
      ASSERT_TRUE(loop.modify(other, EPOLLOUT));  // a read end: never writable
    };
  };
  ASSERT_TRUE(loop.watch(a.read_end, EPOLLIN, handler(b.read_end)));
  ASSERT_TRUE(loop.watch(b.read_end, EPOLLIN, handler(a.read_end)));
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  EXPECT_EQ(calls, 1);
  loop.unwatch(a.read_end);
  loop.unwatch(b.read_end);
}

TEST(ControlLoop, HandlerUnwatchesItsOwnFd) {
  ControlLoop loop;
  Pipe pipe;
  auto alive = std::make_shared<std::string>("state the handler owns");
  int calls = 0;
  ASSERT_TRUE(loop.watch(pipe.read_end, EPOLLIN, [&loop, &calls, &pipe, alive](uint32_t) {
    ++calls;
    loop.unwatch(pipe.read_end);
    // The handler and what it captured must outlive its own unwatch (ASan checks this).
    EXPECT_EQ(*alive, "state the handler owns");
  }));
  alive.reset();
  pipe.put();
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(loop.watching(pipe.read_end));
  EXPECT_EQ(loop.run_once(20ms), 0u);  // still readable, no longer watched
  EXPECT_EQ(calls, 1);
  // Watching it again works.
  ASSERT_TRUE(loop.watch(pipe.read_end, EPOLLIN, [&](uint32_t) { calls += 10; }));
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  EXPECT_EQ(calls, 11);
  loop.unwatch(pipe.read_end);
}

TEST(ControlLoop, UnwatchedPendingEventIsNotDelivered) {
  ControlLoop loop;
  Pipe a, b;
  a.put();
  b.put();
  std::vector<int> ran;
  // Both are ready in the same batch; whichever runs first unwatches the other.
  ASSERT_TRUE(loop.watch(a.read_end, EPOLLIN, [&](uint32_t) {
    ran.push_back(a.read_end);
    loop.unwatch(b.read_end);
  }));
  ASSERT_TRUE(loop.watch(b.read_end, EPOLLIN, [&](uint32_t) {
    ran.push_back(b.read_end);
    loop.unwatch(a.read_end);
  }));
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  ASSERT_EQ(ran.size(), 1u);
  EXPECT_EQ(loop.run_once(20ms), 1u);  // the survivor is still watched and still readable
  ASSERT_EQ(ran.size(), 2u);
  EXPECT_EQ(ran[0], ran[1]);
  loop.unwatch(ran[0]);
}

TEST(ControlLoop, StaleEventOfAReusedFdNumberIsDropped) {
  ControlLoop loop;
  Pipe a, b;
  a.put();
  b.put();
  int old_calls = 0;
  int new_calls = 0;
  uint32_t new_events = 0;
  // The first handler to run closes the other pipe's read end and puts a readable eventfd
  // under the same number: its pending pipe event of this batch must not reach the new one.
  auto replace = [&](int victim) {
    loop.unwatch(victim);
    int event = ::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(event, 0);
    ASSERT_EQ(::dup3(event, victim, O_CLOEXEC), victim);  // closes the old pipe end
    ::close(event);
    ASSERT_TRUE(loop.watch(victim, EPOLLIN, [&](uint32_t e) {
      ++new_calls;
      new_events = e;
    }));
  };
  ASSERT_TRUE(loop.watch(a.read_end, EPOLLIN, [&](uint32_t) {
    if (old_calls++ == 0) replace(b.read_end);
  }));
  ASSERT_TRUE(loop.watch(b.read_end, EPOLLIN, [&](uint32_t) {
    if (old_calls++ == 0) replace(a.read_end);
  }));
  EXPECT_EQ(loop.run_once(1000ms), 1u);
  EXPECT_EQ(old_calls, 1);
  EXPECT_EQ(new_calls, 0);
  // Next batch: the new registration sees its own readiness.
  loop.run_once(1000ms);
  EXPECT_EQ(new_calls, 1);
  EXPECT_EQ(new_events, uint32_t{EPOLLIN});
  loop.unwatch(a.read_end);
  loop.unwatch(b.read_end);
}

// Captured state whose destructor calls back into the loop, as an object owning its
// registrations would: destroying the loop must cope (ASan checks this).
TEST(ControlLoop, DestroyedWithRegistrationsStillInIt) {
  Pipe pipe;
  auto loop = std::make_unique<ControlLoop>();
  struct Guard {
    ControlLoop* loop;
    int fd;
    ~Guard() {
      loop->unwatch(fd);
      loop->cancel(1);
    }
  };
  std::shared_ptr<Guard> guard(new Guard{loop.get(), pipe.read_end});
  ASSERT_TRUE(loop->watch(pipe.read_end, EPOLLIN, [guard](uint32_t) {}));
  loop->after(10s, [guard] {});
  loop->post([guard] {});
  guard.reset();
  loop.reset();
}

}  // namespace
}  // namespace sluice::proxy::control
