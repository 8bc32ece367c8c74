#include "proxy/worker.hpp"

#include <netinet/in.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "proxy/http_session.hpp"
#include "proxy/log.hpp"
#include "proxy/request_key.hpp"
#include "proxy/socket.hpp"
#include "proxy/tcp_session.hpp"
#include "proxy/upstream.hpp"

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
// How long a stopping worker lets in-flight requests and relays finish.
constexpr uint64_t kDrainMs = 30000;

uint64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
}  // namespace

WorkerListener::WorkerListener(Worker& w, const ListenerRuntime& r, int fd)
    : worker(w),
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

void WorkerListener::close() {
  if (fd_ < 0) return;
  // Cancel by user_data: the fd is closed below, before the cancel is even
  // submitted, and the multishot accept's own reference would otherwise keep
  // the socket listening.
  io_uring_sqe* sqe = worker.ring_.sqe();
  io_uring_prep_cancel64(sqe, tag(this, 0), IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, 0);
  ::close(fd_);
  fd_ = -1;
}

void WorkerListener::on_completion(unsigned, int result, unsigned flags) {
  if (!(flags & IORING_CQE_F_MORE)) armed_ = false;
  if (result >= 0) {
    if (worker.stopping_ || !admit(result)) {
      ::close(result);
    } else {
      if (runtime.config->protocol == config::Protocol::http) {
        auto* session = new HttpSession(worker, *this, result);
        worker.session_started(session);
        session->start();
      } else {
        auto* session = new TcpSession(worker, *this, result);
        worker.session_started(session);
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
}

bool WorkerListener::admit(int fd) {
  // HTTP listeners count requests (in the session), TCP listeners connections.
  const RateLimitRuntime* limit = runtime.rate_limit;
  if (limit == nullptr || runtime.config->protocol != config::Protocol::tcp) return true;
  char ip[INET6_ADDRSTRLEN] = "";
  peer_ip(fd, ip, sizeof ip);
  const limiter::Decision d =
      limit->admit(limit_key(limit->config->key, nullptr, ip, 0), Worker::now_ns());
  if (!d.admitted)
    LOG_DEBUG("listener %s: connection from %s refused by rate limit %s",
              runtime.config->name.c_str(), ip, limit->config->name.c_str());
  return d.admitted;
}

Worker::Worker(unsigned index, std::shared_ptr<const Snapshot> snapshot)
    : index_(index), snapshot_(std::move(snapshot)) {
  // Different seeds and start cursors, so workers do not march through endpoints in lockstep.
  for (size_t i = 0; i < snapshot_->clusters.size(); ++i)
    cores_.emplace_back(0x9e3779b97f4a7c15ULL * (index + 1) + i, index);
  pools_.resize(snapshot_->clusters.size());
  for (const ClusterRuntime& c : snapshot_->clusters)
    pools_[c.index].resize(c.config->endpoints.size());
  tick_interval_.tv_nsec = kTickMs * 1000000;
}

Worker::~Worker() {
  join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Worker::start(std::promise<std::string> ready) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this, ready = std::move(ready)]() mutable { run(ready); });
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

void Worker::run(std::promise<std::string>& ready) {
  std::string error = setup();
  ready.set_value(error);
  if (!error.empty()) return;
  loop();
}

std::string Worker::setup() {
  if (wake_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
  if (std::string e = ring_.init(kRingEntries); !e.empty()) return e;
  if (std::string e = buffers_.init(ring_, kBufferCount, kBufferSize); !e.empty()) return e;
  for (const ListenerRuntime& l : snapshot_->listeners) {
    std::string error;
    int fd = open_listen_socket(l.config->listen, error);
    if (fd < 0) return "listener " + l.config->name + ": " + error;
    listeners_.push_back(std::make_unique<WorkerListener>(*this, l, fd));
  }
  now_ms_ = monotonic_ms();
  for (auto& l : listeners_) l->arm();
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
    if (!waiting_buffers_.empty() && buffers_.available() >= kBufferCount / 8)
      wake_waiting_sessions();
  }
  LOG_DEBUG("worker %u: stopped", index_);
}

void Worker::on_completion(unsigned op, int result, unsigned) {
  if (op == kWake) {
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
  for (auto& l : listeners_) {
    if (l->paused_ && !stopping_) {
      l->paused_ = false;
      l->arm();
    }
  }
  arm_tick();  // also while draining: timeouts and the drain deadline still apply
}

void Worker::begin_stop() {
  stopping_ = true;
  for (auto& l : listeners_) l->close();
  for (auto& cluster : pools_)
    for (auto& idle : cluster) {
      std::vector<UpstreamConnection*> connections;
      connections.swap(idle);
      for (UpstreamConnection* c : connections) c->close();
    }
  // drain() may end a session at once, which reshuffles sessions_.
  drain_deadline_ms_ = now_ms_ + kDrainMs;
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

UpstreamConnection* Worker::take_pooled(const ClusterRuntime& cluster, uint32_t endpoint) {
  auto& idle = pools_[cluster.index][endpoint];
  while (!idle.empty()) {
    UpstreamConnection* c = idle.back();
    idle.pop_back();
    TimerList::stop(c->pool_timer);
    if (!c->closing() && !c->in.eof) return c;
  }
  return nullptr;
}

bool Worker::pool(UpstreamConnection* connection) {
  auto& idle = pools_[connection->cluster.index][connection->endpoint];
  if (stopping_ || idle.size() >= kMaxIdlePerEndpoint) return false;
  connection->set_owner(nullptr);
  idle.push_back(connection);
  timers(kPoolIdleMs).start(connection->pool_timer, now_ms_);
  return true;
}

void Worker::unpool(UpstreamConnection* connection) {
  std::erase(pools_[connection->cluster.index][connection->endpoint], connection);
}

void Worker::wake_waiting_sessions() {
  std::vector<BufferWaiter*> waiting;
  waiting.swap(waiting_buffers_);
  for (BufferWaiter* w : waiting) w->on_buffers_available();
}

std::optional<uint32_t> Worker::pick_endpoint(const ClusterRuntime& cluster, uint64_t key,
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
  return cluster.balancer->pick(in, cores_[cluster.index]);
}

int64_t Worker::now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

TimerList& Worker::timers(uint64_t timeout_ms) {
  for (auto& list : timer_lists_)
    if (list->timeout_ms() == timeout_ms) return *list;
  timer_lists_.push_back(std::make_unique<TimerList>(timeout_ms));
  return *timer_lists_.back();
}

void Worker::session_started(Session* session) {
  session->live_index = sessions_.size();
  sessions_.push_back(session);
}

void Worker::session_ended(Session* session) {
  Session* last = sessions_.back();
  sessions_[session->live_index] = last;
  last->live_index = session->live_index;
  sessions_.pop_back();
  delete session;
}

}  // namespace sluice::proxy
