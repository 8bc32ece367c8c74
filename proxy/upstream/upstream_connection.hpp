// A connection to one endpoint, reusable across requests (keep-alive). It is its
// own completion handler, so it can move between an owning HTTP session and the
// worker's idle pool without cancelling its multishot receive. Worker thread only.
#pragma once

#include <cstdint>

#include "config/config.hpp"
#include "limiter/concurrency_limit.hpp"
#include "proxy/metrics/counters.hpp"
#include "proxy/core/chunk_queue.hpp"
#include "proxy/core/timer_list.hpp"
#include "proxy/core/uring.hpp"

namespace sluice::proxy {

class Worker;
struct ClusterRuntime;
struct WorkerGeneration;

// What an upstream connection reports to the session that owns it.
class UpstreamOwner {
 public:
  // 0, or -errno (-ETIMEDOUT on timeout). On failure the connection closes itself
  // right after this call; the owner may first take the unsent bytes from `out`.
  virtual void on_upstream_connected(int result) = 0;
  virtual void on_upstream_input() = 0;           // `in` has new bytes, or eof was set
  virtual void on_upstream_sent() = 0;            // `out` shrank
  virtual void on_upstream_error(int error) = 0;  // receive or send failed: it is closing

 protected:
  ~UpstreamOwner() = default;
};

class UpstreamConnection final : public IoHandler, public TimerOwner, public BufferWaiter {
 public:
  // `permit` holds this connection's place under the cluster's max_connections.
  // `cluster` belongs to `generation`'s snapshot, which the connection keeps in use.
  UpstreamConnection(Worker& worker, WorkerGeneration& generation, const ClusterRuntime& cluster,
                     uint32_t endpoint, limiter::ConcurrencyPermit permit = {});

  // Starts connecting; the owner hears on_upstream_connected. Returns -errno
  // when no socket could be made (nothing was submitted; the caller closes it).
  int connect(const config::Address& address, config::Duration timeout);
  // Sends whatever `out` holds (one send in flight at a time).
  void flush();
  // Half-close towards the endpoint once `out` is empty (tunnels).
  void shutdown_when_flushed() {
    want_shutdown_ = true;
    flush();
  }
  // Backpressure on the response side.
  void pause_receive();
  void resume_receive();
  // Closes the socket; the object frees itself once the kernel is done with it.
  void close();

  void set_owner(UpstreamOwner* owner) { owner_ = owner; }
  bool connected() const { return connected_; }
  bool closing() const { return closing_; }
  bool idle_in_pool() const { return owner_ == nullptr; }

  void on_completion(unsigned op, int result, unsigned flags) override;
  void on_timer(int kind) override { close(); }  // idle in the pool for too long
  void on_buffers_available() override { resume_receive(); }

  WorkerGeneration& generation;
  const ClusterRuntime& cluster;
  const uint32_t endpoint;
  Pipe in;   // received from the endpoint, not yet taken by the owner
  Pipe out;  // waiting to be sent to the endpoint
  TimerNode pool_timer{this, 0};
  uint32_t requests = 0;  // served on this connection, for reuse accounting

 private:
  enum Op : unsigned { kConnect = 1, kReceive, kSend };
  ~UpstreamConnection();
  void submit(io_uring_sqe* sqe, unsigned op);
  void arm_receive();
  void on_receive(int result, unsigned flags);
  void on_send(int result);
  void fail(int error);

  Worker& worker_;
  limiter::ConcurrencyPermit permit_;
  metrics::ClusterCounters& counters_;  // this worker's slot of the cluster's stats
  UpstreamOwner* owner_ = nullptr;
  int fd_ = -1;
  unsigned in_flight_ = 0;
  bool connected_ = false;
  bool closing_ = false;
  bool paused_ = false;
  bool in_callback_ = false;
  bool want_shutdown_ = false;
  __kernel_timespec connect_timeout_{};
};

}  // namespace sluice::proxy
