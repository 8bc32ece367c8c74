#include "proxy/control/discovery/update_guard.hpp"

#include <algorithm>
#include <utility>

namespace sluice::proxy::discovery {
namespace {

bool has_address(const std::vector<DiscoveredEndpoint>& set, const std::string& address) {
  return std::any_of(set.begin(), set.end(),
                     [&](const DiscoveredEndpoint& e) { return e.address == address; });
}

std::string seconds(limiter::Nanos ns) {
  return std::to_string(ns / 1'000'000'000) + " s";
}

}  // namespace

size_t UpdateGuard::removed_by(const std::vector<DiscoveredEndpoint>& set) const {
  return static_cast<size_t>(
      std::count_if(current_.begin(), current_.end(),
                    [&](const DiscoveredEndpoint& e) { return !has_address(set, e.address); }));
}

UpdateGuard::Verdict UpdateGuard::apply(std::vector<DiscoveredEndpoint> set, std::string why) {
  current_ = std::move(set);
  has_set_ = true;
  held_.reset();
  reason_ = std::move(why);
  return Verdict::apply;
}

UpdateGuard::Verdict UpdateGuard::offer(std::vector<DiscoveredEndpoint> set, limiter::Nanos now) {
  stale_ = false;
  last_success_ = now;
  if (!has_set_) return apply(std::move(set), "first set");
  if (set == current_) {
    // The source is back to what runs: whatever was held did not persist.
    if (held_) {
      held_.reset();
      reason_ = "the held update was withdrawn: the source is back to the running set";
    }
    return Verdict::unchanged;
  }
  const size_t removed = removed_by(set);
  const bool drastic =
      !current_.empty() &&
      (set.empty() || static_cast<double>(removed) >=
                          options_.hold_fraction * static_cast<double>(current_.size()));
  if (!drastic) return apply(std::move(set), "update");
  if (held_ && held_->set == set) {
    // The same drastic update again: it persists; its window runs from when it first came.
    return now - held_->since >= options_.confirm_window ? confirm(now) : Verdict::hold;
  }
  held_ = Held{std::move(set), now, removed};
  reason_ = "would remove " + std::to_string(removed) + " of " + std::to_string(current_.size()) +
            " endpoints: held for " + seconds(options_.confirm_window) +
            " unless the source changes its mind";
  return Verdict::hold;
}

void UpdateGuard::failed(std::string why, limiter::Nanos) {
  stale_ = true;
  last_error_ = std::move(why);
}

UpdateGuard::Verdict UpdateGuard::tick(limiter::Nanos now) {
  if (!held_ || stale_ || now - held_->since < options_.confirm_window) return Verdict::unchanged;
  return confirm(now);
}

UpdateGuard::Verdict UpdateGuard::confirm(limiter::Nanos now) {
  Held held = std::move(*held_);
  std::string why = "confirmed after " + seconds(now - held.since) + ": removes " +
                    std::to_string(held.removed) + " of " + std::to_string(current_.size()) +
                    " endpoints";
  return apply(std::move(held.set), std::move(why));
}

}  // namespace sluice::proxy::discovery
