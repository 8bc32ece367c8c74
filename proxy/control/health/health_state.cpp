#include "proxy/control/health/health_state.hpp"

namespace sluice::proxy::health {
namespace {

std::string in_a_row(int count, const char* one, const char* many, const CheckResult& last) {
  return std::to_string(count) + " " + (count == 1 ? one : many) +
         " in a row, last: " + last.reason;
}

}  // namespace

HealthState::HealthState(int healthy_threshold, int unhealthy_threshold, limiter::Nanos now,
                         bool initial)
    : healthy_threshold_(healthy_threshold),
      unhealthy_threshold_(unhealthy_threshold),
      initial_(initial),
      since_(now) {}

std::optional<Transition> HealthState::record(const CheckResult& result) {
  ++checks_[static_cast<size_t>(result.outcome)];
  last_.push_back(result);
  if (last_.size() > kKeptResults) last_.pop_front();
  if (result.ok()) {
    ++successes_;
    failures_ = 0;
  } else {
    ++failures_;
    successes_ = 0;
  }
  switch (status_) {
    case HealthStatus::pending:
      if (result.ok()) {
        if (!initial_) routable_since_ = result.at;
        return move_to(HealthStatus::healthy, result.at, "first check: " + result.reason);
      }
      return move_to(HealthStatus::unhealthy, result.at, "first check: " + result.reason);
    case HealthStatus::healthy:
      if (failures_ >= unhealthy_threshold_)
        return move_to(HealthStatus::unhealthy, result.at,
                       in_a_row(failures_, "failure", "failures", result));
      return std::nullopt;
    case HealthStatus::unhealthy:
      if (successes_ >= healthy_threshold_) {
        routable_since_ = result.at;
        return move_to(HealthStatus::healthy, result.at,
                       in_a_row(successes_, "success", "successes", result));
      }
      return std::nullopt;
  }
  return std::nullopt;
}

Transition HealthState::move_to(HealthStatus to, limiter::Nanos at, std::string cause) {
  Transition transition{status_, to, std::move(cause)};
  status_ = to;
  since_ = at;
  return transition;
}

}  // namespace sluice::proxy::health
