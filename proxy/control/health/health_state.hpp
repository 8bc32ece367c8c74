// The verdict of one checked endpoint from its probe results, by the thresholds of its check:
//   pending   -> healthy    on the first success   } the first verdict comes at once, so an
//   pending   -> unhealthy  on the first failure   } endpoint is routable one probe after it
//   healthy   -> unhealthy  after `unhealthy` failures in a row       appears (as in Envoy)
//   unhealthy -> healthy    after `healthy` successes in a row
// It also keeps what /clusters and metrics show: the last results, counts by outcome, since
// when the state holds. Pure: time comes with each result, so every sequence is a unit test.
// Control thread only.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/control/health/check_result.hpp"

namespace sluice::proxy::health {

enum class HealthStatus : uint8_t { pending, healthy, unhealthy };
inline constexpr size_t kStatusCount = 3;
constexpr std::string_view status_name(HealthStatus status) {
  return status == HealthStatus::pending   ? "pending"
         : status == HealthStatus::healthy ? "healthy"
                                           : "unhealthy";
}

struct Transition {
  HealthStatus from;
  HealthStatus to;
  std::string cause;  // "3 failures in a row, last: connect refused", "first check: status 200"
};

class HealthState {
 public:
  static constexpr size_t kKeptResults = 5;

  // `initial`: the endpoint was there when sluice started, so its first success does not
  // count as coming back (no slow start for a fleet because sluice restarted).
  HealthState(int healthy_threshold, int unhealthy_threshold, limiter::Nanos now, bool initial);

  // One probe's result; a transition when the verdict changed.
  std::optional<Transition> record(const CheckResult& result);

  HealthStatus status() const { return status_; }
  limiter::Nanos since() const { return since_; }  // when status() began
  // When the endpoint last became routable by a verdict that slow start ramps (its first
  // success, or a recovery); 0 when it has not, or when that was its first success at start.
  limiter::Nanos routable_since() const { return routable_since_; }
  const std::deque<CheckResult>& last_results() const { return last_; }  // oldest first
  const std::array<uint64_t, kOutcomeCount>& checks() const { return checks_; }
  int successes_in_row() const { return successes_; }
  int failures_in_row() const { return failures_; }

 private:
  Transition move_to(HealthStatus to, limiter::Nanos at, std::string cause);

  int healthy_threshold_;
  int unhealthy_threshold_;
  bool initial_;
  HealthStatus status_ = HealthStatus::pending;
  limiter::Nanos since_;
  limiter::Nanos routable_since_ = 0;
  int successes_ = 0;
  int failures_ = 0;
  std::deque<CheckResult> last_;
  std::array<uint64_t, kOutcomeCount> checks_{};
};

}  // namespace sluice::proxy::health
