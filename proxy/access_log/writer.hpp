// The access log's writer thread and the per-worker rings that feed it. The
// request path only copies a record into its own worker's ring (no syscall, no
// lock); one background thread polls the rings, formats the records and writes
// each round's lines with as few write(2) calls as it can. When the log can't
// keep up, rings fill and records are dropped and counted, never waited for.
//
// Threads:
//   start, stop, ~AccessLogWriter — the control thread.
//   ring(i).try_push, sampler(i).sample — worker i's thread only.
//   reopen, counters, ring(i).dropped — any thread (reopen is async-signal-safe).
//   Options::on_error — invoked on the writer thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "proxy/access_log/record.hpp"
#include "proxy/access_log/ring.hpp"
#include "proxy/access_log/sampler.hpp"

namespace sluice::access_log {

enum class Format : uint8_t { json, text };

struct Options {
  std::string path = "stdout";  // "stdout" is fd 1; anything else is a file appended to
  Format format = Format::json;
  double sample = 1.0;          // fraction of requests/connections logged, [0, 1]
  size_t ring_capacity = 4096;  // records per worker, rounded up to a power of two
  unsigned workers = 1;
  // A failed write or reopen, described in one line; at most once a second.
  std::function<void(std::string_view)> on_error;
};

class AccessLogWriter {
 public:
  // Opens the output and starts the writer thread. On failure returns nullptr
  // and says why in `error`.
  static std::unique_ptr<AccessLogWriter> start(Options options, std::string& error);

  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;
  ~AccessLogWriter();

  // Writes what the rings still hold, then joins the writer thread and closes
  // the output. Stop the workers first: records pushed after stop() began may
  // stay unwritten. Idempotent.
  void stop();

  // After logrotate renamed the file: the writer opens `path` afresh at its next
  // round (creating it) and closes the old descriptor. If the open fails it
  // keeps writing to the old one and reports the error. No-op for stdout.
  void reopen() noexcept { reopen_requested_.store(true, std::memory_order_release); }

  RecordRing& ring(unsigned worker) noexcept { return lanes_[worker]->ring; }
  Sampler& sampler(unsigned worker) noexcept { return lanes_[worker]->sampler; }
  unsigned workers() const noexcept { return static_cast<unsigned>(lanes_.size()); }
  const Options& options() const noexcept { return options_; }

  // Every pushed record ends up in exactly one of written, dropped (ring full)
  // or lost (its batch's write failed), once stop() has returned.
  uint64_t lines_written() const noexcept { return written_.load(std::memory_order_relaxed); }
  uint64_t lines_dropped() const noexcept;
  uint64_t lines_lost() const noexcept { return lost_.load(std::memory_order_relaxed); }
  uint64_t write_errors() const noexcept { return write_errors_.load(std::memory_order_relaxed); }
  // Reopens the writer thread has carried out (stdout counts too).
  uint64_t reopens() const noexcept { return reopens_.load(std::memory_order_relaxed); }

 private:
  struct alignas(64) Lane {
    Lane(size_t capacity, double sample, unsigned index) : ring(capacity), sampler(sample, index) {}
    RecordRing ring;
    Sampler sampler;
  };

  AccessLogWriter(Options options, int fd);
  void run();
  void reopen_now();
  void flush(std::string& batch, uint64_t& lines);
  void report(std::string_view message);

  const Options options_;
  const bool to_stdout_;
  int fd_;  // writer thread only, once started
  std::vector<std::unique_ptr<Lane>> lanes_;

  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> reopen_requested_{false};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> lost_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<uint64_t> reopens_{0};

  // Writer thread only.
  int64_t last_report_ns_ = 0;
  int64_t pause_until_ns_ = 0;
  bool torn_line_ = false;

  std::thread thread_;
};

}  // namespace sluice::access_log
