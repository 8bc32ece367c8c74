// What stands between a discovery source and a cluster's endpoint list: a source error keeps
// the last good set (and makes it stale), and an update that would remove all endpoints, or
// at least `hold_fraction` of them, is held for a confirm window and applied only if the
// source still says so when the window ends (Envoy emptied clusters on one NXDOMAIN; HAProxy
// left servers in maintenance after a resolver error). Any other change applies at once.
// Pure: time is an argument (limiter::Nanos), no I/O, so every sequence is a unit test.
// Control thread only; one guard per (cluster, source).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "limiter/decision.hpp"  // limiter::Nanos

namespace sluice::proxy::discovery {

// One endpoint as a source reports it.
struct DiscoveredEndpoint {
  std::string address;  // "ip:port" / "[v6]:port"
  uint32_t weight = 1;
  bool operator==(const DiscoveredEndpoint&) const = default;
};

struct GuardOptions {
  limiter::Nanos confirm_window = 30'000'000'000;  // how long a drastic update must persist
  double hold_fraction = 0.5;  // removing at least this share of the endpoints is drastic
};

class UpdateGuard {
 public:
  enum class Verdict {
    apply,      // publish current() now
    hold,       // a drastic update waits for its confirm window; current() is unchanged
    unchanged,  // nothing to publish
  };

  explicit UpdateGuard(GuardOptions options = {}) : options_(options) {}

  // The source delivered its whole set at `now` (it is no longer stale). The first set
  // always applies: there is nothing yet to protect.
  Verdict offer(std::vector<DiscoveredEndpoint> set, limiter::Nanos now);
  // The source failed at `now` (unreachable, malformed answer): the set stays, marked stale,
  // and a held update is not confirmed while the source cannot say it still stands.
  void failed(std::string why, limiter::Nanos now);
  // Called from a timer: a held update whose window has passed with the source still
  // saying so applies (apply), else unchanged.
  Verdict tick(limiter::Nanos now);

  const std::vector<DiscoveredEndpoint>& current() const { return current_; }
  bool has_set() const { return has_set_; }
  bool stale() const { return stale_; }
  const std::string& last_error() const { return last_error_; }
  limiter::Nanos last_success() const { return last_success_; }  // 0: never
  // Why the last offer or tick was held or applied, for the one log line per state change:
  // "would remove 3 of 4 endpoints: held for 30 s unless the source changes its mind".
  const std::string& reason() const { return reason_; }
  struct Held {
    std::vector<DiscoveredEndpoint> set;
    limiter::Nanos since = 0;
    size_t removed = 0;
  };
  const std::optional<Held>& held() const { return held_; }

 private:
  // How many endpoints of current_ `set` does not have.
  size_t removed_by(const std::vector<DiscoveredEndpoint>& set) const;
  Verdict apply(std::vector<DiscoveredEndpoint> set, std::string why);
  // The held update has persisted through its window: it becomes the set.
  Verdict confirm(limiter::Nanos now);

  GuardOptions options_;
  std::vector<DiscoveredEndpoint> current_;
  bool has_set_ = false;
  bool stale_ = false;
  std::string last_error_;
  limiter::Nanos last_success_ = 0;
  std::string reason_;
  std::optional<Held> held_;
};

}  // namespace sluice::proxy::discovery
