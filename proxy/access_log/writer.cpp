#include "proxy/access_log/writer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "proxy/access_log/format.hpp"

namespace sluice::access_log {

namespace {

// A round writes once it has this much, so the buffer stays bounded when the
// rings are full, yet a write(2) carries thousands of lines.
constexpr size_t kFlushBytes = 1 << 20;
// Records taken from one ring before the next ring gets its turn; small enough
// that slots return to the producer soon, large enough to amortize the atomics.
constexpr size_t kDrainChunk = 512;
// Polling period while the rings fill slowly: bounds the latency of a line and
// of stop(). Sleeping after a small round too (not only an empty one) lets
// lines gather into bigger writes, and keeps an idle writer near zero CPU; at
// 4096 slots a ring absorbs 5 ms of 800k lines/s from its worker.
constexpr auto kIdleSleep = std::chrono::milliseconds(5);
constexpr size_t kSmallRound = 256;
// After a failed write (disk full) the writer rests so it does not burn a core
// formatting lines that will fail too; meanwhile the rings drop and count.
constexpr int64_t kErrorPauseNs = 100'000'000;
constexpr int64_t kReportIntervalNs = 1'000'000'000;
// How long one write may wait for a non-blocking stdout to drain.
constexpr int kPollTimeoutMs = 1000;

int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int open_output(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) error = "access log: cannot open " + path + ": " + std::strerror(errno);
  return fd;
}

}  // namespace

std::unique_ptr<AccessLogWriter> AccessLogWriter::start(Options options, std::string& error) {
  if (options.workers == 0) {
    error = "access log: no workers";
    return nullptr;
  }
  if (options.ring_capacity == 0 || options.ring_capacity > (size_t{1} << 24)) {
    error = "access log: ring capacity must be in [1, 16777216]";
    return nullptr;
  }
  int fd = 1;
  if (options.path != "stdout") {
    fd = open_output(options.path, error);
    if (fd < 0) return nullptr;
  }
  std::unique_ptr<AccessLogWriter> writer(new AccessLogWriter(std::move(options), fd));
  writer->thread_ = std::thread([w = writer.get()] { w->run(); });
  pthread_setname_np(writer->thread_.native_handle(), "sluice-alog");
  return writer;
}

AccessLogWriter::AccessLogWriter(Options options, int fd)
    : options_(std::move(options)), to_stdout_(options_.path == "stdout"), fd_(fd) {
  lanes_.reserve(options_.workers);
  for (unsigned i = 0; i < options_.workers; ++i) {
    lanes_.push_back(std::make_unique<Lane>(options_.ring_capacity, options_.sample, i));
  }
}

AccessLogWriter::~AccessLogWriter() {
  stop();
}

void AccessLogWriter::stop() {
  if (!thread_.joinable()) return;
  stop_requested_.store(true, std::memory_order_release);
  thread_.join();
  if (!to_stdout_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

uint64_t AccessLogWriter::lines_dropped() const noexcept {
  uint64_t sum = 0;
  for (const auto& lane : lanes_) sum += lane->ring.dropped();
  return sum;
}

void AccessLogWriter::run() {
  LineFormatter formatter;
  std::string batch;
  batch.reserve(kFlushBytes + 64 * 1024);
  uint64_t batch_lines = 0;
  const auto format = [&](const AccessRecord& record) {
    if (options_.format == Format::json) {
      formatter.append_json(batch, record);
    } else {
      formatter.append_text(batch, record);
    }
    ++batch_lines;
  };

  for (;;) {
    // Read before draining: when it is set, this round sees every record the
    // workers pushed before stop() was called, and is the last.
    const bool stopping = stop_requested_.load(std::memory_order_acquire);
    if (reopen_requested_.exchange(false, std::memory_order_acq_rel)) reopen_now();

    size_t round = 0;
    for (bool more = true; more;) {
      more = false;
      for (const auto& lane : lanes_) {
        const size_t n = lane->ring.drain(format, kDrainChunk);
        round += n;
        more = more || n == kDrainChunk;
        if (batch.size() >= kFlushBytes) flush(batch, batch_lines);
      }
      // Each pass can find new records; the chunk bound per ring keeps one
      // busy worker from starving the others, this bound keeps a round finite.
      if (round >= lanes_.size() * options_.ring_capacity) break;
    }
    flush(batch, batch_lines);
    if (stopping) break;

    const int64_t pause = pause_until_ns_ - monotonic_ns();
    if (pause > 0) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(pause));
    } else if (round < kSmallRound) {
      std::this_thread::sleep_for(kIdleSleep);
    }
  }
}

void AccessLogWriter::reopen_now() {
  if (!to_stdout_) {
    std::string error;
    const int fd = open_output(options_.path, error);
    if (fd < 0) {
      report(error);
      return;
    }
    ::close(fd_);
    fd_ = fd;
  }
  reopens_.fetch_add(1, std::memory_order_relaxed);
}

void AccessLogWriter::flush(std::string& batch, uint64_t& lines) {
  if (batch.empty()) return;
  // A write that failed mid-line left a fragment; end it so that the next line
  // starts on a line of its own instead of gluing onto garbage.
  if (torn_line_ && ::write(fd_, "\n", 1) == 1) torn_line_ = false;
  size_t done = 0;
  int error = 0;
  while (done < batch.size()) {
    const ssize_t n = ::write(fd_, batch.data() + done, batch.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // stdout may be a non-blocking pipe someone else set up; wait, bounded.
      pollfd pfd{fd_, POLLOUT, 0};
      if (::poll(&pfd, 1, kPollTimeoutMs) > 0) continue;
      error = EAGAIN;
      break;
    }
    error = n < 0 ? errno : EIO;
    break;
  }
  if (error == 0) {
    written_.fetch_add(lines, std::memory_order_relaxed);
  } else {
    // Whole lines already written count as written; the rest is lost.
    const uint64_t lost = static_cast<uint64_t>(
        std::count(batch.begin() + static_cast<std::ptrdiff_t>(done), batch.end(), '\n'));
    written_.fetch_add(lines - lost, std::memory_order_relaxed);
    lost_.fetch_add(lost, std::memory_order_relaxed);
    torn_line_ = done > 0 && batch[done - 1] != '\n';
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    pause_until_ns_ = monotonic_ns() + kErrorPauseNs;
    report("access log: write to " + options_.path + " failed: " + std::strerror(error) + " (" +
           std::to_string(lost) + " lines lost)");
  }
  batch.clear();
  lines = 0;
}

void AccessLogWriter::report(std::string_view message) {
  if (!options_.on_error) return;
  const int64_t now = monotonic_ns();
  if (last_report_ns_ != 0 && now - last_report_ns_ < kReportIntervalNs) return;
  last_report_ns_ = now;
  options_.on_error(message);
}

}  // namespace sluice::access_log
