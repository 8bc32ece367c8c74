#include "proxy/control/tls_watch.hpp"

#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>

#include "proxy/core/log.hpp"

namespace sluice::proxy {
namespace {

// Long enough for a tool that writes the cert and then the key; short enough that new
// handshakes get the new certificate within a second.
constexpr std::chrono::milliseconds kSettle{150};
constexpr std::chrono::milliseconds kPoll{1000};

}  // namespace

TlsFileWatch::TlsFileWatch(control::ControlLoop& loop, std::function<bool()> stale,
                           std::function<void()> changed)
    : loop_(loop), stale_(std::move(stale)), changed_(std::move(changed)) {}

TlsFileWatch::~TlsFileWatch() {
  stop();
}

void TlsFileWatch::stop() {
  loop_.cancel(poll_timer_);
  loop_.cancel(settle_timer_);
  poll_timer_ = settle_timer_ = 0;
  if (inotify_fd_ >= 0) {
    loop_.unwatch(inotify_fd_);
    ::close(inotify_fd_);
    inotify_fd_ = -1;
  }
  dirs_.clear();
}

void TlsFileWatch::watch(const std::vector<std::string>& files) {
  std::set<std::string> dirs;
  for (const std::string& f : files) {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(f, ec);
    dirs.insert((ec ? std::filesystem::path(f) : absolute).parent_path().string());
  }
  if (dirs == dirs_ && (dirs.empty() || poll_timer_ != 0)) return;
  stop();
  if (dirs.empty()) return;
  dirs_ = std::move(dirs);
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
                               IN_MOVED_FROM | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  bool watched = inotify_fd_ >= 0;
  for (const std::string& dir : dirs_)
    if (watched && ::inotify_add_watch(inotify_fd_, dir.c_str(), kEvents) < 0) {
      LOG_WARN("tls: cannot watch %s for certificate changes; looking once a second", dir.c_str());
    }
  if (watched) loop_.watch(inotify_fd_, EPOLLIN, [this](uint32_t) { on_inotify(); });
  poll_timer_ = loop_.every(kPoll, [this] { check(); });
}

void TlsFileWatch::on_inotify() {
  alignas(inotify_event) char buffer[8192];
  while (::read(inotify_fd_, buffer, sizeof buffer) > 0) {
  }
  // Events for unrelated files in the same directory are filtered by check(): it compares
  // the files themselves.
  if (settle_timer_ != 0) return;
  settle_timer_ = loop_.after(kSettle, [this] {
    settle_timer_ = 0;
    check();
  });
}

void TlsFileWatch::check() {
  if (stale_()) changed_();
}

}  // namespace sluice::proxy
