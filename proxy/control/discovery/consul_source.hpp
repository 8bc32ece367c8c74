// The Consul discovery source: a loop of blocking queries on the health API
// (/v1/health/service/<name>?passing=1&index=I&wait=W), each answer the whole set of passing
// instances. The index follows X-Consul-Index (reset to 0 when it goes backwards or is not a
// positive number), queries are at least `min_interval` apart so an index that keeps waking
// them does not make a busy loop, and an answer whose set did not change is not delivered
// again (Consul wakes blocked queries for unrelated writes). A query that fails (refused,
// no answer within wait + wait/16 + timeout, HTTP error, malformed body) makes the sink hear
// fail() and is retried with jittered back-off, without blocking (index 0) so that the
// answer that ends the staleness is not held for a whole wait. Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/discovery/consul_codec.hpp"
#include "proxy/control/discovery/http_stream.hpp"
#include "proxy/control/discovery/retry_backoff.hpp"
#include "proxy/control/discovery/source.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

struct ConsulOptions {
  config::Address address;  // the agent's HTTP API
  consul::Query query;
  std::chrono::milliseconds wait{60000};
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds min_interval{1000};
  std::chrono::milliseconds retry_initial{250};
  std::chrono::milliseconds retry_max{10000};
  // One line when the instances Consul returns but sluice cannot use change (a host name
  // as address, a bad port); not repeated while they stay the same.
  std::function<void(const std::string&)> warn;

  static ConsulOptions from(const config::ConsulDiscovery& config);
};

class ConsulSource : public Source {
 public:
  // `loop` and `sink` must outlive the source.
  ConsulSource(control::ControlLoop& loop, SourceSink& sink, ConsulOptions options);
  ~ConsulSource() override;

  void start() override;
  const char* kind() const override { return "consul"; }
  std::string describe() const override;

  struct Counters {
    uint64_t queries = 0;       // answered with HTTP 200
    uint64_t index_resets = 0;  // X-Consul-Index went backwards or was not a positive number
    uint64_t failures = 0;      // fail() calls
  };
  const Counters& counters() const { return counters_; }
  uint64_t index() const { return index_; }  // what the next query sends

 private:
  void query();
  void on_answer();
  void failed(std::string why);
  void schedule(std::chrono::milliseconds delay);

  control::ControlLoop& loop_;
  SourceSink& sink_;
  ConsulOptions options_;
  HttpStream stream_;
  RetryBackoff backoff_;
  uint64_t index_ = 0;
  unsigned status_ = 0;
  std::string index_header_;
  std::string body_;
  control::ControlLoop::Clock::time_point started_;
  bool failed_ = false;
  bool delivered_ = false;
  std::vector<DiscoveredEndpoint> last_;  // the set last delivered
  std::vector<std::string> last_skipped_;
  control::ControlLoop::TimerId timer_ = 0;
  Counters counters_;
};

}  // namespace sluice::proxy::discovery
