// Helpers of the ControlLoop tests: a non-blocking pipe and a stopwatch.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <functional>

namespace sluice::proxy::control {

using Clock = std::chrono::steady_clock;

struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    if (read_end >= 0) ::close(read_end);
    if (write_end >= 0) ::close(write_end);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void put(char c = 'x') const { ASSERT_EQ(::write(write_end, &c, 1), 1); }

  int read_end = -1;
  int write_end = -1;
};

inline Clock::duration timed(const std::function<void()>& fn) {
  const auto begin = Clock::now();
  fn();
  return Clock::now() - begin;
}

}  // namespace sluice::proxy::control
