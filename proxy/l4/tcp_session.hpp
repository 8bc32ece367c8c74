// One proxied TCP connection (L4): connects to an endpoint of the listener's
// cluster (trying the next one on failure), then relays bytes both ways until
// both directions have seen FIN, forwarding half-closes. Lives on one worker.
#pragma once

#include <cstdint>
#include <string_view>

#include "limiter/concurrency_limit.hpp"
#include "proxy/access_log/record.hpp"
#include "proxy/upstream/load_ticket.hpp"
#include "proxy/upstream/outcome.hpp"
#include "proxy/core/chunk_queue.hpp"
#include "proxy/session/session.hpp"

namespace sluice::proxy {

class Worker;
class WorkerListener;

class TcpSession final : public Session {
 public:
  TcpSession(Worker& worker, WorkerListener& listener, int client_fd);
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  ~TcpSession() override;

  void start();
  void abort() override;
  // A relay runs until both sides are done (or the drain deadline).
  void drain() override {}
  void on_completion(unsigned op, int result, unsigned flags) override;
  void on_timer(int kind) override;
  void on_buffers_available() override;

 private:
  enum Op : unsigned { kConnect = 1, kRecvClient, kRecvUpstream, kSendUpstream, kSendClient };
  // Pipe 0 carries client -> upstream, pipe 1 upstream -> client.
  int source_fd(int p) const { return p == 0 ? client_fd_ : upstream_fd_; }
  int dest_fd(int p) const { return p == 0 ? upstream_fd_ : client_fd_; }

  void submit(io_uring_sqe* sqe, unsigned op);
  void connect_next();
  void on_connect(int result);
  void arm_receive(int p);
  void pause_receive(int p);
  void on_receive(int p, int result, unsigned flags);
  void send(int p);
  void on_send(int p, int result);
  void forward_fin(int p);
  void touch();
  void finish_if_done();
  // Ends the relay for `why` (an access log error code; empty: a normal end).
  void fail(std::string_view why);
  // The access log line for the whole connection, when sampled.
  void log_connection();
  metrics::ClusterCounters& cluster_counters();

  Worker& worker_;
  WorkerListener& listener_;
  int client_fd_;
  int upstream_fd_ = -1;
  Pipe pipes_[2];
  unsigned in_flight_ = 0;  // submitted operations whose final completion is pending
  bool closing_ = false;
  bool in_callback_ = false;
  bool connected_ = false;
  int attempts_left_ = 0;
  uint32_t endpoint_ = 0;  // the one being tried or used
  uint64_t key_ = 0;       // consistent hashing: the client IP's hash
  LoadTicket load_;        // counts this connection against endpoint_
  BreakerTicket breaker_;
  limiter::ConcurrencyPermit connection_permit_;  // cluster max_connections
  limiter::ConcurrencyPermit pending_permit_;     // cluster max_pending, while connecting
  int64_t connect_started_ns_ = 0;
  int64_t started_ns_ = 0;
  int64_t connect_ns_ = -1;  // how long the successful connect took
  bool attempted_ = false;   // an endpoint was picked: endpoint_ is meaningful
  std::string_view error_;   // why the relay ended early, for the access log
  access_log::BreakerOutcome breaker_outcome_ = access_log::BreakerOutcome::none;
  char client_address_[64] = "";  // "ip:port", when the access log is on
  uint64_t tried_ = 0;            // endpoints already tried (first 64), so retries go elsewhere
  __kernel_timespec connect_timeout_{};
};

}  // namespace sluice::proxy
