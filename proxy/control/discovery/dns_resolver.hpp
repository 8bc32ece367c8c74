// The control loop's stub resolver: one c-ares channel whose sockets are watched by the
// ControlLoop and whose retransmission timeouts are loop timers, so a DNS query never blocks
// the control thread. EDNS0 is on (1232-byte answers, the DNS flag day size) and c-ares
// retries a truncated UDP answer over TCP by itself.
// Control thread only; the loop must outlive the resolver, and a callback must not destroy
// the resolver it runs in (c-ares is still inside its own loop then): post() that instead.
#pragma once

#include <ares.h>

#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

struct DnsResolverOptions {
  std::vector<config::Address> servers;  // empty: the system's (/etc/resolv.conf)
  // One try; c-ares tries each server `tries` times, doubling the wait after the first round.
  std::chrono::milliseconds timeout{2000};
  int tries = 2;
};

class DnsResolver {
 public:
  // `status` is an ARES_* code: ARES_SUCCESS, ARES_ENOTFOUND (NXDOMAIN), ARES_ENODATA (no
  // records of that type), ARES_ESERVFAIL, ARES_EREFUSED, ARES_ETIMEOUT, ARES_ECONNREFUSED...
  // `answer` is the raw reply when there is one. Never called after the resolver is gone.
  using Callback = std::function<void(int status, std::span<const unsigned char> answer)>;

  DnsResolver(control::ControlLoop& loop, DnsResolverOptions options);
  ~DnsResolver();  // drops the queries in flight without calling their callbacks
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // False when c-ares could not be set up (no memory, unreadable resolver list); error() says
  // why and every query then fails at once with ARES_ENOTINITIALIZED.
  bool ok() const { return channel_ != nullptr; }
  const std::string& error() const { return error_; }

  // Asks for the records of `type` (1 A, 28 AAAA, 33 SRV) of `name` exactly as written: no
  // search list, no /etc/hosts. `done` may run before query() returns.
  void query(const std::string& name, int type, Callback done);

 private:
  static void on_socket_state(void* self, ares_socket_t fd, int readable, int writable);
  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  // Lets c-ares read, write or time out, then arms the timer for its next deadline.
  void process(ares_socket_t read_fd, ares_socket_t write_fd);
  void arm_timer();

  control::ControlLoop& loop_;
  ares_channel channel_ = nullptr;
  std::string error_;
  control::ControlLoop::TimerId timer_ = 0;
};

}  // namespace sluice::proxy::discovery
