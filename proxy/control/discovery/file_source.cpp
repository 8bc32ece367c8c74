#include "proxy/control/discovery/file_source.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "proxy/control/discovery/endpoint_file.hpp"

namespace sluice::proxy::discovery {
namespace {

// Writers (editors, `kubectl`, config management) finish a change with a few events in a
// row; reading once they settle avoids reading a half-written file. Short enough to keep a
// lone change well under the 100 ms propagation target.
constexpr std::chrono::milliseconds kSettle{10};
// A file that does not parse right after an event is read again this much later before
// it counts as an error: an in-place writer may not have finished.
constexpr std::chrono::milliseconds kRetryBad{200};
// Endpoint lists are small; a huge file is a mistake, not a list.
constexpr std::streamsize kMaxBytes = 16 << 20;

// The file's bytes, or "" with `error` set.
std::string read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::string("cannot read: ") + std::strerror(errno);
    return {};
  }
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (static_cast<std::streamsize>(text.size()) > kMaxBytes) {
      error = "larger than 16 MiB: not an endpoint list";
      return {};
    }
  }
  return text;
}

// A short fingerprint of the content for /clusters and the logs.
std::string version_of(const std::string& text) {
  std::ostringstream out;
  out << "content " << std::hex << std::hash<std::string>{}(text);
  return out.str();
}

}  // namespace

FileSource::FileSource(control::ControlLoop& loop, SourceSink& sink,
                       const config::FileDiscovery& config)
    : loop_(loop), sink_(sink), path_(config.path), poll_interval_(config.poll_interval) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(config.path, ec);
  absolute_ = ec ? config.path : absolute.lexically_normal().string();
  file_name_ = std::filesystem::path(absolute_).filename().string();
}

FileSource::~FileSource() {
  loop_.cancel(poll_timer_);
  loop_.cancel(read_timer_);
  if (inotify_fd_ >= 0) {
    loop_.unwatch(inotify_fd_);
    ::close(inotify_fd_);
  }
}

void FileSource::start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  const std::string dir = std::filesystem::path(absolute_).parent_path().string();
  // The directory, not the file: a rename or a symlink swap replaces the file's inode, and
  // a watch on the old inode would go quiet.
  constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
                               IN_MOVED_FROM | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF |
                               IN_MOVE_SELF;
  const bool watched = inotify_fd_ >= 0 &&
                       ::inotify_add_watch(inotify_fd_, dir.c_str(), kEvents) >= 0 &&
                       loop_.watch(inotify_fd_, EPOLLIN, [this](uint32_t) { on_inotify(); });
  const std::string watch_error = watched ? "" : std::string(std::strerror(errno));
  read(false);
  if (!watched)
    sink_.fail("cannot watch " + dir + " (" + watch_error + "): only polled every " +
               std::to_string(poll_interval_.count()) + " ms");
  poll_timer_ = loop_.every(poll_interval_, [this] { read(false); });
}

void FileSource::on_inotify() {
  alignas(inotify_event) char buffer[8192];
  bool relevant = false;
  for (;;) {
    const ssize_t n = ::read(inotify_fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      const std::string_view name = event->len > 0 ? std::string_view(event->name) : "";
      // The file itself, a Kubernetes-style `..data` swap (the file is a symlink through it),
      // or the directory's own changes: anything else in the directory is not ours.
      if (name.empty() || name == file_name_ || name.starts_with("..") ||
          (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW)) != 0)
        relevant = true;
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  if (relevant) schedule_read(kSettle);
}

void FileSource::schedule_read(std::chrono::milliseconds delay) {
  if (read_timer_ != 0) return;  // one read per burst of events
  read_timer_ = loop_.after(delay, [this, delay] {
    read_timer_ = 0;
    read(delay == kSettle);
  });
}

void FileSource::read(bool retry_if_bad) {
  std::string error;
  std::string text = read_file(absolute_, error);
  if (error.empty() && delivered_ && !failing_ && text == last_content_) return;
  EndpointFile parsed;
  if (error.empty()) {
    parsed = parse_endpoint_file(text, path_);
    error = parsed.error;
  } else {
    error = path_ + ": " + error;
  }
  if (!error.empty()) {
    if (retry_if_bad) {
      schedule_read(kRetryBad);
      return;
    }
    failing_ = true;
    sink_.fail(error);
    return;
  }
  failing_ = false;
  delivered_ = true;
  std::string version = version_of(text);
  last_content_ = std::move(text);
  sink_.deliver(std::move(parsed.endpoints), std::move(version));
}

}  // namespace sluice::proxy::discovery
