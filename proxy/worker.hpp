// One worker: a thread that owns one io_uring ring, one provided-buffer ring,
// its own SO_REUSEPORT socket per listener, and every connection accepted on
// them. Nothing here is shared with other workers; the control thread only
// calls start(), request_stop() and join().
#pragma once

#include <atomic>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "balancers/balancer.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/timer_list.hpp"
#include "proxy/uring.hpp"

namespace sluice::proxy {

class Session;
class UpstreamConnection;
class Worker;

// A listener as one worker sees it: its socket and its multishot accept.
class WorkerListener final : public IoHandler {
 public:
  WorkerListener(Worker& worker, const ListenerRuntime& runtime, int fd);
  void on_completion(unsigned op, int result, unsigned flags) override;
  void arm();
  void close();

  Worker& worker;
  const ListenerRuntime& runtime;
  TimerList& idle_timers;  // the worker's list for this listener's idle timeout

 private:
  // The listener's rate limit, applied to a new connection (tcp listeners).
  bool admit(int fd);

  int fd_;
  bool armed_ = false;
  bool paused_ = false;  // accept failed for want of resources; retried on the next tick
  friend class Worker;
};

class Worker final : public IoHandler {
 public:
  Worker(unsigned index, std::shared_ptr<const Snapshot> snapshot);
  ~Worker();

  // Control thread. `ready` receives "" once listening, or why setup failed.
  void start(std::promise<std::string> ready);
  void request_stop();
  void join();

  // Worker thread only, for sessions.
  Ring& ring() { return ring_; }
  BufferRing& buffers() { return buffers_; }
  uint64_t now_ms() const { return now_ms_; }
  unsigned index() const { return index_; }
  // The endpoint for a new connection or request to `cluster`, skipping the
  // ones in `tried` (a bit per endpoint index, first 64); none when all are.
  std::optional<uint32_t> pick_endpoint(const ClusterRuntime& cluster, uint64_t key,
                                        uint64_t tried);
  // A precise clock for latency samples (now_ms() is per loop iteration).
  static int64_t now_ns();
  // The deadline list for one timeout value (created on first use).
  TimerList& timers(uint64_t timeout_ms);
  void session_started(Session* session);
  void session_ended(Session* session);
  void wait_for_buffers(BufferWaiter* waiter);
  void forget_waiting(BufferWaiter* waiter);

  // Keep-alive pool: idle upstream connections per (cluster, endpoint).
  UpstreamConnection* take_pooled(const ClusterRuntime& cluster, uint32_t endpoint);
  // Returns false (and the caller closes it) when the endpoint's pool is full.
  bool pool(UpstreamConnection* connection);
  void unpool(UpstreamConnection* connection);
  // Upstream connections outlive sessions; the worker exits only once all are freed.
  void upstream_opened() { ++live_upstreams_; }
  void upstream_freed() { --live_upstreams_; }

  void on_completion(unsigned op, int result, unsigned flags) override;

 private:
  enum Op : unsigned { kWake = 1, kTick = 2 };
  void run(std::promise<std::string>& ready);
  std::string setup();
  void loop();
  void arm_wake();
  void arm_tick();
  void on_tick();
  void begin_stop();
  void wake_waiting_sessions();

  unsigned index_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::thread thread_;
  std::atomic<bool> stop_requested_{false};
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;
  __kernel_timespec tick_interval_{};

  Ring ring_;
  BufferRing buffers_;
  std::vector<std::unique_ptr<WorkerListener>> listeners_;
  std::vector<balancers::CoreState> cores_;  // per cluster: this worker's balancer state
  std::vector<std::unique_ptr<TimerList>> timer_lists_;
  std::vector<Session*> sessions_;  // live ones; Session::live_index points back here
  std::vector<BufferWaiter*> waiting_buffers_;
  // pools_[cluster][endpoint]: idle connections, most recently used last.
  std::vector<std::vector<std::vector<UpstreamConnection*>>> pools_;
  size_t live_upstreams_ = 0;
  uint64_t now_ms_ = 0;
  uint64_t drain_deadline_ms_ = 0;
  bool stopping_ = false;
  friend class WorkerListener;
};

}  // namespace sluice::proxy
