// One worker: a thread that owns one io_uring ring, one provided-buffer ring,
// its own SO_REUSEPORT socket per listener, and every connection accepted on
// them. Nothing here is shared with other workers; the control thread only
// calls start(), publish(), adopted(), request_stop() and join().
#pragma once

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "balancers/balancer.hpp"
#include "proxy/access_log/writer.hpp"
#include "proxy/worker/snapshot.hpp"
#include "proxy/core/timer_list.hpp"
#include "proxy/core/uring.hpp"
#include "proxy/worker/worker_generation.hpp"

namespace sluice::proxy {

class Session;
class UpstreamConnection;
class Worker;

// A listener as one worker sees it in one generation: its socket and its
// multishot accept. A reload hands the socket on to the next generation's
// listener for the same address (detach), so no connection is refused.
class WorkerListener final : public IoHandler {
 public:
  WorkerListener(Worker& worker, WorkerGeneration& generation, const ListenerRuntime& runtime,
                 int fd);
  void on_completion(unsigned op, int result, unsigned flags) override;
  void arm();
  // Stops accepting and closes the socket.
  void close();
  // Stops accepting and hands over the socket (-1 when it has none).
  int detach();
  // Its multishot accept may still complete: the generation must stay.
  bool armed() const { return armed_; }

  Worker& worker;
  WorkerGeneration& generation;
  const ListenerRuntime& runtime;
  TimerList& idle_timers;  // the worker's list for this listener's idle timeout

 private:
  // The listener's rate limit, applied to a new connection (tcp listeners).
  bool admit(int fd);
  void cancel_accept();

  int fd_;
  bool armed_ = false;
  bool paused_ = false;  // accept failed for want of resources; retried on the next tick
  friend class Worker;
};

class Worker final : public IoHandler {
 public:
  // `access_log` (null: off) outlives the worker.
  Worker(unsigned index, access_log::AccessLogWriter* access_log);
  ~Worker();

  // Control thread. `ready` receives "" once listening on `first`, or why
  // setup failed.
  void start(WorkerUpdate first, std::promise<std::string> ready);
  // Control thread: hands over a new snapshot; the worker adopts it at its next
  // loop iteration (new connections use it, running ones keep theirs).
  void publish(WorkerUpdate update);
  // Any thread: how many updates (the first included) the worker has adopted.
  uint64_t adopted() const { return adopted_.load(std::memory_order_acquire); }
  void request_stop();
  // Any thread: the loop has ended (drained, or the drain timeout passed).
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  void join();

  // Worker thread only, for sessions.
  Ring& ring() { return ring_; }
  BufferRing& buffers() { return buffers_; }
  uint64_t now_ms() const { return now_ms_; }
  unsigned index() const { return index_; }
  // The endpoint for a new connection or request to `cluster` (of
  // `generation`'s snapshot), skipping the ones in `tried` (a bit per endpoint
  // index, first 64); none when all are.
  std::optional<uint32_t> pick_endpoint(WorkerGeneration& generation, const ClusterRuntime& cluster,
                                        uint64_t key, uint64_t tried);
  // A precise clock for latency samples (now_ms() is per loop iteration).
  static int64_t now_ns();
  // Wall-clock time, for access log timestamps.
  static int64_t unix_now_ns();
  // The deadline list for one timeout value (created on first use).
  TimerList& timers(uint64_t timeout_ms);
  void session_started(Session* session, WorkerListener& listener);
  // A session between requests moves to `to` (a listener of the running generation).
  void move_session(Session* session, WorkerListener& to);
  WorkerGeneration* running_generation() { return generations_.back().get(); }
  // The running generation's listener on the same address and protocol as
  // `listener`, or null when a reload removed it.
  WorkerListener* running_listener(const WorkerListener& listener);
  void session_ended(Session* session);
  bool access_log_enabled() const { return access_log_ != nullptr; }
  // The access log ring to push to for this request or connection, or null
  // when the log is off or the sample skips it.
  access_log::RecordRing* access_log_sample(WorkerGeneration& generation) {
    return access_log_ != nullptr && generation.access_sampler.sample() ? &access_log_->ring(index_)
                                                                        : nullptr;
  }
  void wait_for_buffers(BufferWaiter* waiter);
  void forget_waiting(BufferWaiter* waiter);

  // Keep-alive pool: idle upstream connections per (generation, cluster, endpoint).
  UpstreamConnection* take_pooled(WorkerGeneration& generation, const ClusterRuntime& cluster,
                                  uint32_t endpoint);
  // Returns false (and the caller closes it) when the endpoint's pool is full
  // or the connection's generation is no longer the running one.
  bool pool(UpstreamConnection* connection);
  void unpool(UpstreamConnection* connection);
  // Upstream connections outlive sessions; the worker exits only once all are freed.
  void upstream_opened(WorkerGeneration& generation);
  void upstream_freed(WorkerGeneration& generation);
  // The listener's accept ended (cancelled or failed for good).
  void listener_disarmed(WorkerGeneration& generation) { maybe_retire(generation); }

  void on_completion(unsigned op, int result, unsigned flags) override;

 private:
  enum Op : unsigned { kWake = 1, kTick = 2 };
  void run(WorkerUpdate& first, std::promise<std::string>& ready);
  std::string setup(WorkerUpdate& first);
  void loop();
  // Makes `update` the running generation; false (fds closed) while stopping.
  void adopt(WorkerUpdate update);
  void adopt_published();
  void close_pools(WorkerGeneration& generation);
  // Notes that `generation` may have become unused. The sweep at the end of
  // the loop iteration frees old generations nothing uses any more (never
  // during a callback: the caller may still be inside one).
  void maybe_retire(WorkerGeneration& generation);
  void sweep_generations();
  void arm_wake();
  void arm_tick();
  void on_tick();
  void begin_stop();
  void wake_waiting_sessions();

  unsigned index_;
  access_log::AccessLogWriter* access_log_;
  std::thread thread_;
  std::atomic<bool> stop_requested_{false};
  std::mutex published_mutex_;
  std::vector<WorkerUpdate> published_;  // guarded by published_mutex_
  std::atomic<uint64_t> adopted_{0};
  std::atomic<bool> finished_{false};
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;
  __kernel_timespec tick_interval_{};

  Ring ring_;
  BufferRing buffers_;
  // The running generation is the last; older ones live while used.
  std::vector<std::unique_ptr<WorkerGeneration>> generations_;
  std::vector<std::unique_ptr<TimerList>> timer_lists_;
  std::vector<Session*> sessions_;  // live ones; Session::live_index points back here
  std::vector<BufferWaiter*> waiting_buffers_;
  size_t live_upstreams_ = 0;
  uint64_t now_ms_ = 0;
  uint64_t drain_deadline_ms_ = 0;
  bool stopping_ = false;
  bool sweep_pending_ = false;
  friend class WorkerListener;
};

}  // namespace sluice::proxy
