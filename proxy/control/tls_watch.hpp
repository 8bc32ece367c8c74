// Watches the certificate, key and CA files of the TLS listeners: inotify on their
// directories (a rename, a symlink swap or an in-place write all show there), plus a look
// once a second in case an event was missed. A change calls `changed` after a short settle
// (a cert and its key are rarely written in the same instant); the caller rebuilds and
// publishes the snapshot, and the ContextStore decides what actually needs reloading.
// Control thread only.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy {

class TlsFileWatch {
 public:
  // `stale()`: whether a watched file differs from what the running contexts were built from.
  TlsFileWatch(control::ControlLoop& loop, std::function<bool()> stale,
               std::function<void()> changed);
  ~TlsFileWatch();
  TlsFileWatch(const TlsFileWatch&) = delete;
  TlsFileWatch& operator=(const TlsFileWatch&) = delete;

  // Watches the directories of `files` (replacing what was watched); none: stops watching.
  void watch(const std::vector<std::string>& files);

 private:
  void on_inotify();
  void check();
  void stop();

  control::ControlLoop& loop_;
  std::function<bool()> stale_;
  std::function<void()> changed_;
  std::set<std::string> dirs_;
  int inotify_fd_ = -1;
  control::ControlLoop::TimerId poll_timer_ = 0;
  control::ControlLoop::TimerId settle_timer_ = 0;
};

}  // namespace sluice::proxy
