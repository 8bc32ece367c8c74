// Helpers of the DNS source tests: a sink that records what the source says, and a way to
// run the control loop until it has said enough.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "proxy/control/discovery/source.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct RecordingSink : SourceSink {
  struct Event {
    bool delivered = false;               // deliver(); false: fail()
    std::vector<DiscoveredEndpoint> set;  // deliver() only
    std::string text;                     // the version or the failure
    Clock::time_point at;
  };
  void deliver(std::vector<DiscoveredEndpoint> set, std::string version) override {
    events.push_back({true, std::move(set), std::move(version), Clock::now()});
  }
  void fail(std::string why) override {
    events.push_back({false, {}, std::move(why), Clock::now()});
  }
  std::vector<Event> events;
};

// Runs the loop until `done` or `timeout`; returns done().
inline bool run_until(control::ControlLoop& loop, const std::function<bool()>& done,
                      milliseconds timeout = milliseconds(5000)) {
  const auto deadline = Clock::now() + timeout;
  while (!done() && Clock::now() < deadline) loop.run_once(milliseconds(20));
  return done();
}

// Runs the loop until the sink has more than `count` events.
inline bool run_until_events(control::ControlLoop& loop, const RecordingSink& sink, size_t count,
                             milliseconds timeout = milliseconds(5000)) {
  return run_until(
      loop, [&] { return sink.events.size() > count; }, timeout);
}

// "127.0.0.1:80" ... with weight 1: how A answers come out.
inline std::vector<DiscoveredEndpoint> endpoints(std::vector<std::string> addresses,
                                                 uint32_t weight = 1) {
  std::vector<DiscoveredEndpoint> out;
  for (auto& a : addresses) out.push_back({std::move(a), weight});
  return out;
}

}  // namespace sluice::proxy::discovery
