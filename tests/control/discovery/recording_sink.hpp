// What the discovery source tests observe: a SourceSink that records every deliver() and
// fail(), and a way to run the control loop until something has happened.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "proxy/control/discovery/source.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

struct RecordingSink : SourceSink {
  struct Delivery {
    std::vector<DiscoveredEndpoint> set;
    std::string version;
  };
  std::vector<Delivery> deliveries;
  std::vector<std::string> failures;

  void deliver(std::vector<DiscoveredEndpoint> set, std::string version) override {
    deliveries.push_back({std::move(set), std::move(version)});
  }
  void fail(std::string why) override { failures.push_back(std::move(why)); }

  // The last delivered set's addresses, sorted; empty before the first delivery.
  std::vector<std::string> addresses() const {
    std::vector<std::string> out;
    if (deliveries.empty()) return out;
    for (const auto& e : deliveries.back().set) out.push_back(e.address);
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string version() const { return deliveries.empty() ? "" : deliveries.back().version; }
};

// Runs the loop until `done()` or `timeout`; returns done().
inline bool run_until(control::ControlLoop& loop, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    loop.run_once(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace sluice::proxy::discovery
