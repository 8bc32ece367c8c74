// Alarms on a real io_uring ring: wake-ups at exact instants, in deadline order, cancelled ones
// silent, an earlier alarm set after a later one still on time, owners re-arming from on_alarm.
#include "proxy/core/alarms.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "proxy/core/clock.hpp"
#include "proxy/core/loop.hpp"

namespace sluice::proxy {
namespace {

constexpr int64_t kMs = 1'000'000;

struct Sleeper : AlarmOwner {
  Sleeper(std::vector<int>& log, int id) : log(log), id(id) {}
  void on_alarm() override {
    fired_at = clock::monotonic_ns();
    log.push_back(id);
    if (then) then();
  }
  std::vector<int>& log;
  int id;
  int64_t fired_at = 0;
  std::function<void()> then;
  Alarm alarm{this};
};

class AlarmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string error = loop_.init(64, 16, 4096);
    if (!error.empty()) GTEST_SKIP() << error;
  }
  // Runs the loop until `done` or a second passes.
  void run_until(const std::function<bool()>& done) {
    const int64_t give_up = clock::monotonic_ns() + 1000 * kMs;
    while (!done() && clock::monotonic_ns() < give_up) loop_.run_once(50);
  }
  Loop loop_;
  std::vector<int> log_;
};

TEST_F(AlarmsTest, FireInDeadlineOrderNotBefore) {
  Sleeper a(log_, 1), b(log_, 2), c(log_, 3), gone(log_, 4);
  const int64_t t0 = clock::monotonic_ns();
  Alarms& alarms = loop_.alarms();
  alarms.set(c.alarm, t0 + 30 * kMs);
  alarms.set(gone.alarm, t0 + 5 * kMs);
  alarms.set(a.alarm, t0 + 10 * kMs);  // earlier than the armed one: armed again
  alarms.set(b.alarm, t0 + 20 * kMs);
  alarms.cancel(gone.alarm);
  EXPECT_EQ(alarms.size(), 3u);
  run_until([&] { return log_.size() == 3; });
  EXPECT_EQ(log_, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(a.fired_at, t0 + 10 * kMs);
  EXPECT_GE(b.fired_at, t0 + 20 * kMs);
  EXPECT_GE(c.fired_at, t0 + 30 * kMs);
  // Exact instants, not the worker's 250 ms tick (generous for a loaded box).
  EXPECT_LT(c.fired_at, t0 + 130 * kMs);
  EXPECT_FALSE(Alarms::pending(gone.alarm));
  EXPECT_EQ(alarms.size(), 0u);
}

TEST_F(AlarmsTest, OwnerMaySetAgainFromOnAlarmAndPastInstantsFireNextRound) {
  Sleeper s(log_, 7);
  int rounds = 0;
  s.then = [&] {
    if (++rounds < 5) loop_.alarms().set(s.alarm, clock::monotonic_ns() + 2 * kMs);
  };
  loop_.alarms().set(s.alarm, clock::monotonic_ns() - kMs);  // already due
  EXPECT_TRUE(log_.empty());                                 // never from inside set()
  run_until([&] { return rounds == 5; });
  EXPECT_EQ(rounds, 5);
}

TEST_F(AlarmsTest, ManyAlarmsKeepHeapOrder) {
  std::vector<std::unique_ptr<Sleeper>> sleepers;
  const int64_t t0 = clock::monotonic_ns();
  for (int i = 0; i < 200; ++i) {
    sleepers.push_back(std::make_unique<Sleeper>(log_, i));
    // A scrambled order of deadlines 1..200 * 0.1 ms.
    const int slot = (i * 37) % 200;
    loop_.alarms().set(sleepers.back()->alarm, t0 + kMs + slot * kMs / 10);
  }
  for (int i = 0; i < 200; i += 3) loop_.alarms().cancel(sleepers[i]->alarm);
  run_until([&] { return loop_.alarms().size() == 0; });
  std::vector<int64_t> deadlines;
  for (int id : log_) deadlines.push_back((id * 37) % 200);
  EXPECT_TRUE(std::is_sorted(deadlines.begin(), deadlines.end()));
  EXPECT_EQ(log_.size(), 200u - 67u);
}

}  // namespace
}  // namespace sluice::proxy
