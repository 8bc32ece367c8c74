#include "proxy/worker/worker.hpp"

#include <netinet/in.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "proxy/l7/http_session.hpp"
#include "proxy/core/log.hpp"
#include "proxy/l7/request_key.hpp"
#include "proxy/core/socket.hpp"
#include "proxy/l4/tcp_session.hpp"
#include "proxy/upstream/upstream_connection.hpp"

namespace sluice::proxy {
namespace {
// 1024 x 16 KiB: 16 MiB of receive buffers per worker, shared by all its
// connections; per-connection queues are bounded by Pipe::kHighWater.
constexpr unsigned kBufferCount = 1024;
constexpr unsigned kBufferSize = 16 * 1024;
constexpr unsigned kRingEntries = 4096;
constexpr long kTickMs = 250;
// Keep-alive pool bounds per worker and endpoint.
constexpr size_t kMaxIdlePerEndpoint = 64;
constexpr uint64_t kPoolIdleMs = 30000;

uint64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
}  // namespace

WorkerListener::WorkerListener(Worker& w, WorkerGeneration& g, const ListenerRuntime& r, int fd)
    : worker(w),
      generation(g),
      runtime(r),
      idle_timers(w.timers(static_cast<uint64_t>(r.config->timeouts.idle.count()))),
      fd_(fd) {}

void WorkerListener::arm() {
  if (armed_ || fd_ < 0) return;
  io_uring_sqe* sqe = worker.ring_.sqe();
  // Blocking-mode sockets: io_uring returns -EAGAIN for O_NONBLOCK ones instead of
  // waiting for readiness itself.
  io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag(this, 0));
  armed_ = true;
}

void WorkerListener::cancel_accept() {
  // Cancel by user_data: after close() the fd no longer finds the request,
  // and the multishot accept's own reference would keep the socket listening.
  if (!armed_) return;
  io_uring_sqe* sqe = worker.ring_.sqe();
  io_uring_prep_cancel64(sqe, tag(this, 0), IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, 0);
}

void WorkerListener::close() {
  if (fd_ < 0) return;
  cancel_accept();
  ::close(fd_);
  fd_ = -1;
}

int WorkerListener::detach() {
  cancel_accept();
  paused_ = false;
  return std::exchange(fd_, -1);
}

void WorkerListener::on_completion(unsigned, int result, unsigned flags) {
  if (!(flags & IORING_CQE_F_MORE)) armed_ = false;
  if (result >= 0) {
    // A connection the accept took before a reload cancelled it is still
    // served, under this (older) generation.
    if (worker.stopping_ || !admit(result)) {
      ::close(result);
    } else {
      if (runtime.config->protocol == config::Protocol::http) {
        auto* session = new HttpSession(worker, *this, result);
        worker.session_started(session, *this);
        session->start();
      } else {
        auto* session = new TcpSession(worker, *this, result);
        worker.session_started(session, *this);
        session->start();
      }
    }
  } else if (result == -EMFILE || result == -ENFILE || result == -ENOMEM || result == -ENOBUFS) {
    if (!paused_)
      LOG_WARN("listener %s: accept failed: %s; retrying shortly", runtime.config->name.c_str(),
               std::strerror(-result));
    paused_ = true;
    return;
  } else if (result != -ECANCELED) {
    LOG_WARN("listener %s: accept failed: %s", runtime.config->name.c_str(),
             std::strerror(-result));
  }
  if (!armed_ && !paused_ && !worker.stopping_) arm();
  if (!armed_) worker.listener_disarmed(generation);
}

bool WorkerListener::admit(int fd) {
  // HTTP listeners count requests (in the session), TCP listeners connections.
  const RateLimitRuntime* limit = runtime.rate_limit;
  if (limit == nullptr || runtime.config->protocol != config::Protocol::tcp) return true;
  char ip[INET6_ADDRSTRLEN] = "";
  peer_ip(fd, ip, sizeof ip);
  const limiter::Decision d =
      limit->admit(limit_key(limit->config->key, nullptr, ip, 0), Worker::now_ns());
  metrics::RateLimitCounters& counters = limit->stats->per_worker.at(worker.index());
  (d.admitted ? counters.admitted : counters.limited).add();
  if (!d.admitted)
    LOG_DEBUG("listener %s: connection from %s refused by rate limit %s",
              runtime.config->name.c_str(), ip, limit->config->name.c_str());
  return d.admitted;
}

Worker::Worker(unsigned index, access_log::AccessLogWriter* access_log)
    : index_(index), access_log_(access_log) {
  tick_interval_.tv_nsec = kTickMs * 1000000;
}

Worker::~Worker() {
  join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Worker::start(WorkerUpdate first, std::promise<std::string> ready) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread(
      [this, first = std::move(first), ready = std::move(ready)]() mutable { run(first, ready); });
}

void Worker::publish(WorkerUpdate update) {
  {
    std::lock_guard lock(published_mutex_);
    published_.push_back(std::move(update));
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
  (void)ignored;
}

void Worker::request_stop() {
  stop_requested_.store(true, std::memory_order_release);
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
  (void)ignored;
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::run(WorkerUpdate& first, std::promise<std::string>& ready) {
  std::string error = setup(first);
  ready.set_value(error);
  if (!error.empty()) {
    finished_.store(true, std::memory_order_release);
    return;
  }
  loop();
  generations_.clear();  // nothing uses them any more
  finished_.store(true, std::memory_order_release);
}

std::string Worker::setup(WorkerUpdate& first) {
  auto close_fds = [&] {
    for (int fd : first.listener_fds)
      if (fd >= 0) ::close(fd);
  };
  if (wake_fd_ < 0) {
    close_fds();
    return std::string("eventfd: ") + std::strerror(errno);
  }
  std::string e = ring_.init(kRingEntries);
  if (e.empty()) e = buffers_.init(ring_, kBufferCount, kBufferSize);
  if (!e.empty()) {
    close_fds();
    return e;
  }
  now_ms_ = monotonic_ms();
  adopt(std::move(first));
  arm_wake();
  arm_tick();
  io_uring_submit(ring_.raw());
  LOG_DEBUG("worker %u: io_uring mode %s", index_, ring_.mode());
  return {};
}

void Worker::arm_wake() {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(sqe, tag(this, kWake));
}

void Worker::arm_tick() {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_timeout(sqe, &tick_interval_, 0, 0);
  io_uring_sqe_set_data64(sqe, tag(this, kTick));
}

void Worker::loop() {
  io_uring* ring = ring_.raw();
  while (!(stopping_ && sessions_.empty() && live_upstreams_ == 0)) {
    int rc = io_uring_submit_and_wait(ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      LOG_ERROR("worker %u: io_uring_submit_and_wait: %s", index_, std::strerror(-rc));
      break;
    }
    now_ms_ = monotonic_ms();
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      const uint64_t data = cqe->user_data;
      if (data == 0) continue;
      auto* handler = reinterpret_cast<IoHandler*>(data & ~uint64_t{15});
      handler->on_completion(static_cast<unsigned>(data & 15), cqe->res, cqe->flags);
    }
    io_uring_cq_advance(ring, seen);
    buffers_.flush();
    if (sweep_pending_) sweep_generations();
    if (!waiting_buffers_.empty() && buffers_.available() >= kBufferCount / 8)
      wake_waiting_sessions();
  }
  LOG_DEBUG("worker %u: stopped", index_);
}

void Worker::adopt(WorkerUpdate update) {
  const Snapshot& snap = *update.snapshot;
  if (stopping_) {
    for (int fd : update.listener_fds)
      if (fd >= 0) ::close(fd);
    return;
  }
  WorkerGeneration* running = generations_.empty() ? nullptr : generations_.back().get();
  auto generation = std::make_unique<WorkerGeneration>();
  WorkerGeneration& g = *generation;
  g.number = running != nullptr ? running->number + 1 : 1;
  g.snapshot = update.snapshot;
  g.access_sampler = access_log::Sampler(snap.config->log.access.sample, index_);
  // Different seeds and start cursors, so workers do not march through endpoints in lockstep.
  for (size_t i = 0; i < snap.clusters.size(); ++i)
    g.cores.emplace_back(0x9e3779b97f4a7c15ULL * (index_ + 1) + i + g.number, index_);
  g.pools.resize(snap.clusters.size());
  for (const ClusterRuntime& c : snap.clusters) g.pools[c.index].resize(c.config->endpoints.size());
  for (size_t i = 0; i < snap.listeners.size(); ++i) {
    const ListenerRuntime& l = snap.listeners[i];
    int fd = i < update.listener_fds.size() ? update.listener_fds[i] : -1;
    if (fd >= 0 && !start_listening(fd)) {
      LOG_ERROR("worker %u: cannot listen on %s: %s", index_, l.config->listen.text.c_str(),
                std::strerror(errno));
      ::close(fd);
      fd = -1;
    }
    if (fd < 0 && running != nullptr) {
      for (auto& old : running->listeners)
        if (old->runtime.config->listen.text == l.config->listen.text) fd = old->detach();
    }
    if (fd < 0) {
      LOG_ERROR("worker %u: listener %s has no socket; it does not accept here", index_,
                l.config->name.c_str());
      continue;
    }
    g.listeners.push_back(std::make_unique<WorkerListener>(*this, g, l, fd));
  }
  if (running != nullptr) {
    for (auto& old : running->listeners) old->close();  // addresses no longer configured
    close_pools(*running);
  }
  generations_.push_back(std::move(generation));
  for (auto& l : g.listeners) l->arm();
  adopted_.fetch_add(1, std::memory_order_release);
  if (running != nullptr) maybe_retire(*running);
}

void Worker::adopt_published() {
  std::vector<WorkerUpdate> updates;
  {
    std::lock_guard lock(published_mutex_);
    updates.swap(published_);
  }
  for (WorkerUpdate& u : updates) adopt(std::move(u));
}

void Worker::close_pools(WorkerGeneration& generation) {
  for (auto& cluster : generation.pools)
    for (auto& idle : cluster) {
      std::vector<UpstreamConnection*> connections;
      connections.swap(idle);
      for (UpstreamConnection* c : connections) c->close();
    }
}

void Worker::maybe_retire(WorkerGeneration& generation) {
  if (&generation != generations_.back().get()) sweep_pending_ = true;
}

void Worker::sweep_generations() {
  sweep_pending_ = false;
  const WorkerGeneration* running = generations_.back().get();
  auto unused = [&](const std::unique_ptr<WorkerGeneration>& g) {
    if (g.get() == running || g->sessions != 0 || g->upstreams != 0) return false;
    for (auto& l : g->listeners)
      if (l->armed()) return false;  // its cancelled accept has not completed yet
    return true;
  };
  std::erase_if(generations_, unused);
}

void Worker::on_completion(unsigned op, int result, unsigned) {
  if (op == kWake) {
    adopt_published();
    if (stop_requested_.load(std::memory_order_acquire)) {
      begin_stop();
    } else {
      arm_wake();
    }
  } else if (op == kTick) {
    on_tick();
  }
}

void Worker::on_tick() {
  for (auto& list : timer_lists_) list->expire(now_ms_);
  if (stopping_ && now_ms_ >= drain_deadline_ms_ && !sessions_.empty()) {
    LOG_WARN("worker %u: drain timeout, closing %zu connection%s", index_, sessions_.size(),
             sessions_.size() == 1 ? "" : "s");
    std::vector<Session*> live = sessions_;
    for (Session* s : live) s->abort();
  }
  for (auto& l : generations_.back()->listeners) {
    if (l->paused_ && !stopping_) {
      l->paused_ = false;
      l->arm();
    }
  }
  arm_tick();  // also while draining: timeouts and the drain deadline still apply
}

void Worker::begin_stop() {
  stopping_ = true;
  for (auto& g : generations_) {
    for (auto& l : g->listeners) l->close();
    close_pools(*g);
  }
  // drain() may end a session at once, which reshuffles sessions_.
  // In-flight requests and relays get the running config's drain_timeout.
  drain_deadline_ms_ =
      now_ms_ + static_cast<uint64_t>(generations_.back()->snapshot->config->drain_timeout.count());
  std::vector<Session*> live = sessions_;
  for (Session* s : live) s->drain();
}

void Worker::wait_for_buffers(BufferWaiter* waiter) {
  if (std::find(waiting_buffers_.begin(), waiting_buffers_.end(), waiter) == waiting_buffers_.end())
    waiting_buffers_.push_back(waiter);
}

void Worker::forget_waiting(BufferWaiter* waiter) {
  std::erase(waiting_buffers_, waiter);
}

UpstreamConnection* Worker::take_pooled(WorkerGeneration& generation, const ClusterRuntime& cluster,
                                        uint32_t endpoint) {
  auto& idle = generation.pools[cluster.index][endpoint];
  while (!idle.empty()) {
    UpstreamConnection* c = idle.back();
    idle.pop_back();
    TimerList::stop(c->pool_timer);
    if (!c->closing() && !c->in.eof) return c;
  }
  return nullptr;
}

bool Worker::pool(UpstreamConnection* connection) {
  WorkerGeneration& g = connection->generation;
  auto& idle = g.pools[connection->cluster.index][connection->endpoint];
  if (stopping_ || &g != generations_.back().get() || idle.size() >= kMaxIdlePerEndpoint)
    return false;
  connection->set_owner(nullptr);
  idle.push_back(connection);
  timers(kPoolIdleMs).start(connection->pool_timer, now_ms_);
  return true;
}

void Worker::unpool(UpstreamConnection* connection) {
  std::erase(connection->generation.pools[connection->cluster.index][connection->endpoint],
             connection);
}

void Worker::upstream_opened(WorkerGeneration& generation) {
  ++live_upstreams_;
  ++generation.upstreams;
}

void Worker::upstream_freed(WorkerGeneration& generation) {
  --live_upstreams_;
  --generation.upstreams;
  maybe_retire(generation);
}

void Worker::wake_waiting_sessions() {
  std::vector<BufferWaiter*> waiting;
  waiting.swap(waiting_buffers_);
  for (BufferWaiter* w : waiting) w->on_buffers_available();
}

std::optional<uint32_t> Worker::pick_endpoint(WorkerGeneration& generation,
                                              const ClusterRuntime& cluster, uint64_t key,
                                              uint64_t tried) {
  if (cluster.outliers) {
    // Ejected endpoints are skipped like tried ones (the detector caps how many).
    const int64_t now = now_ns();
    const size_t n = std::min<size_t>(64, cluster.config->endpoints.size());
    for (size_t i = 0; i < n; ++i)
      if (cluster.outliers->is_ejected(i, now)) tried |= uint64_t{1} << i;
  }
  const uint64_t tried_words[1] = {tried};
  balancers::PickInput in;
  in.key = key;
  in.excluded = balancers::Exclusion(std::span<const uint64_t>(tried_words), {});
  in.load = cluster.load_view();
  if (cluster.tracks_latency) in.now_ns = now_ns();
  return cluster.balancer->pick(in, generation.cores[cluster.index]);
}

int64_t Worker::now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t Worker::unix_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

TimerList& Worker::timers(uint64_t timeout_ms) {
  for (auto& list : timer_lists_)
    if (list->timeout_ms() == timeout_ms) return *list;
  timer_lists_.push_back(std::make_unique<TimerList>(timeout_ms));
  return *timer_lists_.back();
}

void Worker::session_started(Session* session, WorkerListener& listener) {
  session->live_index = sessions_.size();
  session->generation = &listener.generation;
  ++listener.generation.sessions;
  session->listener_counters = &listener.runtime.stats->per_worker.at(index_);
  session->listener_counters->connections.add();
  session->listener_counters->active.add();
  sessions_.push_back(session);
}

void Worker::move_session(Session* session, WorkerListener& to) {
  WorkerGeneration& from = *session->generation;
  --from.sessions;
  session->listener_counters->active.sub();
  session->generation = &to.generation;
  ++to.generation.sessions;
  session->listener_counters = &to.runtime.stats->per_worker.at(index_);
  session->listener_counters->active.add();
  maybe_retire(from);
}

WorkerListener* Worker::running_listener(const WorkerListener& listener) {
  const config::Listener& cfg = *listener.runtime.config;
  for (auto& l : generations_.back()->listeners)
    if (l->runtime.config->listen.text == cfg.listen.text &&
        l->runtime.config->protocol == cfg.protocol)
      return l.get();
  return nullptr;
}

void Worker::session_ended(Session* session) {
  Session* last = sessions_.back();
  sessions_[session->live_index] = last;
  last->live_index = session->live_index;
  sessions_.pop_back();
  WorkerGeneration& generation = *session->generation;
  session->listener_counters->active.sub();
  delete session;
  --generation.sessions;
  maybe_retire(generation);
}

}  // namespace sluice::proxy
