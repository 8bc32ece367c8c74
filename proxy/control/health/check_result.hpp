// What one health probe found: an outcome (counted by kind for metrics) and a reason an
// operator can act on ("connect refused", "timeout after 1s (connecting)", "status 503").
// Plain data; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "limiter/decision.hpp"  // limiter::Nanos

namespace sluice::proxy::health {

enum class Outcome : uint8_t {
  ok,
  refused,        // nothing listens: RST to the SYN
  connect_error,  // unreachable, no route, out of descriptors...
  timeout,        // no connect, or no status line, within the check's timeout
  bad_status,     // an HTTP status outside `expect`
  bad_response,   // not HTTP, or closed before the status line
};
inline constexpr size_t kOutcomeCount = 6;

// The label of metrics (`sluice_health_checks_total{outcome=...}`) and of /clusters.
constexpr std::string_view outcome_name(Outcome outcome) {
  constexpr std::array<std::string_view, kOutcomeCount> kNames = {
      "ok", "refused", "connect_error", "timeout", "bad_status", "bad_response"};
  return kNames[static_cast<size_t>(outcome)];
}

struct CheckResult {
  Outcome outcome = Outcome::ok;
  std::string reason;     // "connected", "status 200", "connect refused", ...
  limiter::Nanos at = 0;  // when the probe ended (steady clock)
  bool ok() const { return outcome == Outcome::ok; }
};

}  // namespace sluice::proxy::health
