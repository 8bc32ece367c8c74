// One health probe of one endpoint, on the control loop, with a non-blocking socket: a TCP
// check passes when the connect completes within the timeout; an HTTP check then sends
// `GET <path> HTTP/1.1` with Host and `Connection: close` and passes when the status line
// (read with Beast's parser, response_head) names an expected status within the same timeout.
// Nothing blocks: connect, send and receive each wait in the loop.
//
// Control thread only. `done` runs exactly once, from a loop handler, never from start();
// after it the probe holds no descriptor or timer. Destroying a probe before that cancels it
// quietly (no `done`). The owner may destroy the probe from inside `done`.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "proxy/control/health/check_result.hpp"
#include "proxy/control/health/response_head.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::health {

class Probe {
 public:
  using Done = std::function<void(CheckResult)>;

  Probe(control::ControlLoop& loop, const config::Address& address, const config::HealthCheck& spec,
        Done done);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

 private:
  enum class Phase { connecting, sending, receiving, finished };

  void start();
  void on_events(uint32_t events);
  void on_connected();
  void send_some();
  void receive_some();
  void on_timeout();
  void finish(Outcome outcome, std::string reason);
  void release();  // unwatch, close, cancel the timer

  control::ControlLoop& loop_;
  config::Address address_;
  const config::HealthCheck& spec_;  // owned by whoever owns the probe; outlives it
  Done done_;
  int fd_ = -1;
  Phase phase_ = Phase::connecting;
  control::ControlLoop::TimerId timer_ = 0;
  std::string request_;
  size_t sent_ = 0;
  ResponseHead head_;
};

// "1s", "250ms": how a timeout reads in a reason.
std::string describe_duration(config::Duration duration);
// The request an HTTP check sends to `address` (exposed for tests).
std::string health_request(const config::HealthCheck& spec, const config::Address& address);
// Whether `status` is among the spec's expected ranges.
bool status_expected(const config::HealthCheck& spec, int status);

}  // namespace sluice::proxy::health
