// Publishing what changed without a reload: a discovered set, a health verdict, a slow-start
// step. The running config is rebuilt into a snapshot with every cluster's current endpoints
// and overlay, handed to the workers like a reload's (connections keep the snapshot they
// started with until their request ends, so an endpoint that left finishes its requests and
// gets no new ones). A lone change goes out at once; in a burst, at most one publication per
// kPublishInterval, the last one with the exact final state.
#include "proxy/control/control_plane.hpp"
#include "proxy/control/snapshot_builder.hpp"
#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"

namespace sluice::proxy {
namespace {

// Each publication rebuilds the snapshot and every worker adopts it: cheap, but not per
// etcd event or per health verdict. 1000 updates in a second become about ten snapshots.
constexpr std::chrono::milliseconds kPublishInterval{100};

}  // namespace

ClusterMembers ControlPlane::members(const config::Config& config) {
  overlay_.sync(config);
  const limiter::Nanos now = clock::monotonic_ns();
  return [this, now](const config::Cluster& c) { return overlay_.members(c, now); };
}

void ControlPlane::arm_ramp_timer() {
  loop_.cancel(ramp_timer_);
  ramp_timer_ = 0;
  const std::optional<limiter::Nanos> next = overlay_.next_change();
  if (!next) return;
  const limiter::Nanos wait = std::max<limiter::Nanos>(0, *next - clock::monotonic_ns());
  ramp_timer_ = loop_.after(std::chrono::milliseconds(wait / 1'000'000 + 1), [this] {
    ramp_timer_ = 0;
    schedule_publish();
  });
}

void ControlPlane::schedule_publish() {
  // Before start() built the first snapshot (a source answering inside reconcile) there is
  // nothing to publish yet: start() builds with the sets as they are. Same while a reload
  // is building: it reads the sets itself.
  if (!started_ || draining_ || publish_timer_ != 0) return;
  const auto since = std::chrono::steady_clock::now() - last_publish_;
  const auto wait = since >= kPublishInterval
                        ? std::chrono::milliseconds(0)
                        : std::chrono::ceil<std::chrono::milliseconds>(kPublishInterval - since);
  publish_timer_ = loop_.after(wait, [this] {
    publish_timer_ = 0;
    republish();
  });
}

void ControlPlane::republish() {
  if (draining_) return;
  last_publish_ = std::chrono::steady_clock::now();
  std::string error;
  auto snapshot = build_snapshot(config_, state_, metrics_, error, members(*config_));
  std::vector<uint64_t> expected;
  if (snapshot) error = publish(snapshot, expected);
  if (!snapshot || !error.empty()) {
    // The workers keep the running snapshot; the next change tries again.
    LOG_ERROR("the new endpoint sets and health overlay are not applied: %s", error.c_str());
    return;
  }
  for (const std::string& line : discoveries_.take_published_changes())
    LOG_INFO("discovery: %s", line.c_str());
  carry_counts(*snapshot);
  snapshot_ = std::move(snapshot);
  arm_ramp_timer();
}

}  // namespace sluice::proxy
