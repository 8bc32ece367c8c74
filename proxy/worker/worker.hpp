// One worker: a thread that runs one Loop (io_uring ring, provided-buffer
// ring, deadline lists), its own SO_REUSEPORT socket per listener, and every
// connection accepted on them. It keeps the loop, the generations (one per
// adopted snapshot) and the listeners; what a connection does is its
// listener's factory's business. Nothing here is shared with other workers;
// the control thread only calls start(), publish(), adopted(), request_stop(),
// finished() and join().
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/access_log/writer.hpp"
#include "proxy/core/loop.hpp"
#include "proxy/session/session.hpp"
#include "proxy/worker/worker_generation.hpp"
#include "proxy/worker/worker_listener.hpp"

namespace sluice::proxy {

class Worker final : public IoHandler {
 public:
  // `access_log` (null: off) outlives the worker. `notify` (may be empty)
  // runs on the worker thread each time it adopted an update, and once its
  // loop has finished.
  Worker(unsigned index, access_log::AccessLogWriter* access_log,
         std::function<void()> notify = {});
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

  // Worker thread, for its listeners.
  Loop& loop() { return loop_; }
  unsigned index() const { return index_; }
  bool stopping() const { return stopping_; }
  WorkerGeneration* running_generation() { return generations_.back().get(); }
  // A connection the listener accepted; started (or refused) once the batch
  // of completions it came in is handled (see start_accepted()).
  void accepted(WorkerListener& listener, int fd) { accepted_.push_back({&listener, fd}); }
  // Descriptors (or memory) ran short: `listener` stops accepting until a
  // tick; logged once per shortage. `error` is -errno, or 0 for the reserve.
  void resources_short(WorkerListener& listener, int error);
  // Whether the listener's or the global max_connections leaves no room for
  // one more client connection (then counted and, now and then, logged).
  bool over_connection_limit(WorkerListener& listener);
  void session_ended(Session& session);
  // See SessionHost::session_replaced.
  void session_replaced(Session& session, Session& next);
  // See SessionHost::follow_reload.
  SessionHost* follow_reload(Session& session, WorkerListener& from);
  bool logging() const { return access_log_ != nullptr; }
  access_log::RecordRing* access_log_sample(WorkerGeneration& generation) {
    return access_log_ != nullptr && generation.access_sampler.sample() ? &access_log_->ring(index_)
                                                                        : nullptr;
  }
  // The listener's accept ended (cancelled or failed for good).
  void listener_disarmed(WorkerGeneration& generation) { maybe_retire(generation); }

  void on_completion(unsigned op, int result, unsigned flags) override;

 private:
  enum Op : unsigned { kWake = 1, kTick = 2 };
  void run(WorkerUpdate& first, std::promise<std::string>& ready);
  std::string setup(WorkerUpdate& first);
  void loop_until_done();
  bool done() const;
  // Starts a session per connection accepted in the last batch, or refuses it
  // when descriptors run short.
  void start_accepted();
  void start_session(WorkerListener& listener, int fd);
  // Makes `update` the running generation; its sockets are closed while stopping.
  void adopt(WorkerUpdate update);
  void adopt_published();
  // Notes that `generation` may have become unused. The sweep at the end of
  // the loop iteration frees old generations nothing uses any more (never
  // during a callback: the caller may still be inside one).
  void maybe_retire(WorkerGeneration& generation);
  void sweep_generations();
  void arm_wake();
  void arm_tick();
  void on_tick();
  void begin_stop();
  void cut_relays_to_removed_endpoints();

  unsigned index_;
  access_log::AccessLogWriter* access_log_;
  std::function<void()> notify_;
  std::thread thread_;
  std::atomic<bool> stop_requested_{false};
  std::mutex published_mutex_;
  std::vector<WorkerUpdate> published_;  // guarded by published_mutex_
  std::atomic<uint64_t> adopted_{0};
  std::atomic<bool> finished_{false};
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;
  __kernel_timespec tick_interval_{};

  Loop loop_;
  // The running generation is the last; older ones live while used.
  std::vector<std::unique_ptr<WorkerGeneration>> generations_;
  std::vector<Session*> sessions_;  // live ones; Session::live_index points back here
  struct Accepted {
    WorkerListener* listener;
    int fd;
  };
  std::vector<Accepted> accepted_;  // this batch's, not started yet
  uint64_t drain_deadline_ms_ = 0;
  // Accepted sockets numbered from here up are closed at once: the
  // descriptors above are kept for upstream connections of clients already
  // served, the admin listener and the access log (see accept()).
  int accept_ceiling_ = 0;
  uint64_t refused_while_short_ = 0;
  bool resources_short_ = false;
  // max_connections: when this worker last said it refused for it (at most
  // once per kLimitLogIntervalMs, never once per connection).
  uint64_t over_limit_logged_ms_ = 0;
  uint64_t over_limit_since_log_ = 0;
  bool stopping_ = false;
  bool sweep_pending_ = false;
};

}  // namespace sluice::proxy
