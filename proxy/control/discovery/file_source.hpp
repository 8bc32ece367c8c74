// The file discovery source: a YAML/JSON endpoint list (endpoint_file.hpp) watched through its
// parent directory with inotify, so editors' atomic renames, Kubernetes' `..data` symlink swaps
// and in-place writes are all seen, plus a slow poll for what inotify cannot see (bind mounts,
// network file systems). An event is followed by a short settle delay; a file that does not
// parse is read once more before it counts as an error (a writer may be half-way), then the
// sink hears fail() and the cluster keeps its last good set. Unchanged content is not
// delivered again. Control thread only.
#pragma once

#include <chrono>
#include <string>

#include "config/config.hpp"
#include "proxy/control/discovery/source.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

class FileSource : public Source {
 public:
  FileSource(control::ControlLoop& loop, SourceSink& sink, const config::FileDiscovery& config);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Reads the file at once (the first set is there before start() returns) and starts
  // watching. A directory that cannot be watched leaves the poll, and says so through fail().
  void start() override;
  const char* kind() const override { return "file"; }
  std::string describe() const override { return "file " + path_; }

 private:
  // Something in the directory changed: read after the settle delay (once per burst).
  void on_inotify();
  void schedule_read(std::chrono::milliseconds delay);
  void read(bool retry_if_bad);

  control::ControlLoop& loop_;
  SourceSink& sink_;
  const std::string path_;  // as configured (for messages)
  std::string absolute_;    // what is read and whose directory is watched
  std::string file_name_;   // the last component, to filter the directory's events
  std::chrono::milliseconds poll_interval_;
  int inotify_fd_ = -1;
  control::ControlLoop::TimerId poll_timer_ = 0;
  control::ControlLoop::TimerId read_timer_ = 0;
  std::string last_content_;  // what was last delivered (content, not just a hash: small files)
  bool delivered_ = false;
  bool failing_ = false;  // the last read was reported through fail()
};

}  // namespace sluice::proxy::discovery
