// Child processes for integration tests: the real sluice binary, test backends,
// and anything else a test puts on loopback. Test thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::testing {

// How often `what` occurs in `text`: tests count log lines in a process's stderr_text()
// ("said once, not once per attempt").
inline size_t count_occurrences(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

struct ExitStatus {
  bool exited = false;                // returned from main / called exit()
  int code = -1;                      // when exited
  int signal = 0;                     // the signal that ended it otherwise
  bool killed_after_timeout = false;  // did not stop in time; we sent SIGKILL

  bool success() const { return exited && code == 0 && !killed_after_timeout; }
  std::string to_string() const;
};

class Process {
 public:
  // Starts argv[0] (a path) with argv. Its stdout and stderr go to
  // `<log_dir>/<label>.out` and `.err` so a failed test can show them.
  // Throws std::runtime_error when the process cannot be started.
  static Process spawn(const std::vector<std::string>& argv, const std::string& log_dir,
                       const std::string& label);

  Process() = default;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // SIGKILLs a child that is still running: a failed test must not leak servers.
  ~Process();

  pid_t pid() const { return pid_; }
  bool running();

  // Waits for a "listening <port>" line on stdout; nullopt if the process exits
  // or the timeout passes first.
  std::optional<uint16_t> wait_listening(std::chrono::milliseconds timeout);

  // Waits for the process to exit on its own; SIGKILLs it after `timeout`.
  ExitStatus wait(std::chrono::milliseconds timeout);
  // SIGTERM, then wait up to `grace`, then SIGKILL.
  ExitStatus stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  std::string stdout_text() const;
  std::string stderr_text() const;
  // Command line plus the tail of stdout/stderr: for assertion messages.
  std::string describe() const;

 private:
  bool reap(bool block);

  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::string command_;
  std::string stdout_path_;
  std::string stderr_path_;
};

}  // namespace sluice::testing
