#include "tests/support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace sluice::testing {
namespace {

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail(const std::string& text, size_t max) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

}  // namespace

std::string ExitStatus::to_string() const {
  std::string s;
  if (exited) {
    s = "exit code " + std::to_string(code);
  } else if (signal != 0) {
    s = std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  } else {
    s = "not exited";
  }
  if (killed_after_timeout) s += " [did not stop in time, SIGKILLed]";
  return s;
}

Process Process::spawn(const std::vector<std::string>& argv, const std::string& log_dir,
                       const std::string& label) {
  Process p;
  p.stdout_path_ = log_dir + "/" + label + ".out";
  p.stderr_path_ = log_dir + "/" + label + ".err";
  for (const auto& a : argv) p.command_ += (p.command_.empty() ? "" : " ") + a;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, p.stdout_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, p.stderr_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // The child gets default signal handling and an unblocked mask whatever the
  // test runner did to ours (gtest, or a shell that ignores SIGPIPE).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int rc = posix_spawn(&p.pid_, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    p.pid_ = -1;
    throw std::runtime_error("posix_spawn " + p.command_ + ": " + std::strerror(rc));
  }
  return p;
}

Process::Process(Process&& other) noexcept {
  *this = std::move(other);
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) {
      kill(pid_, SIGKILL);
      reap(true);
    }
    pid_ = other.pid_;
    status_ = std::move(other.status_);
    command_ = std::move(other.command_);
    stdout_path_ = std::move(other.stdout_path_);
    stderr_path_ = std::move(other.stderr_path_);
    other.pid_ = -1;
    other.status_.reset();
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    reap(true);
  }
}

bool Process::reap(bool block) {
  if (status_) return true;
  if (pid_ <= 0) return false;
  int ws = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &ws, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  ExitStatus st;
  if (WIFEXITED(ws)) {
    st.exited = true;
    st.code = WEXITSTATUS(ws);
  } else if (WIFSIGNALED(ws)) {
    st.signal = WTERMSIG(ws);
  }
  status_ = st;
  return true;
}

bool Process::running() {
  return pid_ > 0 && !reap(false);
}

std::optional<uint16_t> Process::wait_listening(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::istringstream out(stdout_text());
    std::string line;
    while (std::getline(out, line)) {
      // Only a complete line counts: the port may still be half written.
      if (out.eof()) break;
      if (line.rfind("listening ", 0) == 0)
        return static_cast<uint16_t>(std::stoi(line.substr(10)));
    }
    if (!running() || std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

ExitStatus Process::wait(std::chrono::milliseconds timeout) {
  // Never signal pid -1 or 0: that would reach every process we may signal.
  if (pid_ <= 0) return ExitStatus{};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reap(false)) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      if (reap(true)) status_->killed_after_timeout = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return status_.value_or(ExitStatus{});
}

ExitStatus Process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return ExitStatus{};
  if (!reap(false)) kill(pid_, SIGTERM);
  return wait(grace);
}

std::string Process::stdout_text() const {
  return read_whole(stdout_path_);
}
std::string Process::stderr_text() const {
  return read_whole(stderr_path_);
}

std::string Process::describe() const {
  return "command: " + command_ + "\n--- stdout:\n" + tail(stdout_text(), 2000) +
         "\n--- stderr:\n" + tail(stderr_text(), 4000);
}

}  // namespace sluice::testing
