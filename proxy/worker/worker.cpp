#include "proxy/worker/worker.hpp"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "proxy/core/log.hpp"
#include "proxy/core/socket.hpp"
#include "proxy/tls/tls_transport.hpp"

namespace sluice::proxy {
namespace {
constexpr unsigned kRingEntries = 4096;
constexpr long kTickMs = 250;
constexpr uint64_t kLimitLogIntervalMs = 10000;

// Client connections open in this process, every listener and worker together:
// what the config's global max_connections is checked against.
std::atomic<int64_t> open_connections{0};

// The lowest accepted descriptor number to refuse. Descriptors are handed out
// lowest first, so an accepted socket numbered N means N are in use: keep an
// eighth of the limit (16 to 1024) for what already-accepted clients need.
int accept_ceiling() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 30;
  const rlim_t reserve = std::clamp<rlim_t>(limit.rlim_cur / 8, 16, 1024);
  return static_cast<int>(limit.rlim_cur > reserve ? limit.rlim_cur - reserve : 0);
}
}  // namespace

Worker::Worker(unsigned index, access_log::AccessLogWriter* access_log,
               std::function<void()> notify)
    : index_(index), access_log_(access_log), notify_(std::move(notify)) {
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
  loop_until_done();
  generations_.clear();  // nothing uses them any more
  finished_.store(true, std::memory_order_release);
  if (notify_) notify_();
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
  accept_ceiling_ = accept_ceiling();
  // Receive buffers (config `buffers`, 1024 x 16 KiB by default: 16 MiB per worker)
  // are shared by all the worker's connections; per-connection queues are bounded by
  // ChunkQueue::kHighWater. Fixed for the worker's life: a reload cannot change them.
  const config::Config::Buffers& buffers = first.snapshot->config->buffers;
  if (std::string e = loop_.init(kRingEntries, buffers.count, buffers.size); !e.empty()) {
    close_fds();
    return e;
  }
  adopt(std::move(first));
  arm_wake();
  arm_tick();
  io_uring_submit(loop_.ring().raw());
  LOG_DEBUG("worker %u: io_uring mode %s", index_, loop_.ring().mode());
  return {};
}

void Worker::arm_wake() {
  io_uring_sqe* sqe = loop_.ring().sqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(sqe, tag(this, kWake));
}

void Worker::arm_tick() {
  io_uring_sqe* sqe = loop_.ring().sqe();
  io_uring_prep_timeout(sqe, &tick_interval_, 0, 0);
  io_uring_sqe_set_data64(sqe, tag(this, kTick));
}

bool Worker::done() const {
  if (!stopping_ || !sessions_.empty()) return false;
  // Upstream connections outlive sessions: the worker exits once all are freed.
  for (const auto& g : generations_)
    if (g->pool->live() != 0) return false;
  return true;
}

void Worker::loop_until_done() {
  while (!done()) {
    if (!loop_.run_once()) break;
    start_accepted();
    if (sweep_pending_) sweep_generations();
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
  g.pool = std::make_unique<UpstreamPool>(loop_, snap.clusters, [this, &g] { maybe_retire(g); });
  for (size_t i = 0; i < snap.listeners.size(); ++i) {
    const ListenerRuntime& l = snap.listeners[i];
    int fd = i < update.listener_fds.size() ? update.listener_fds[i] : -1;
    if (fd >= 0 && !start_listening(fd)) {
      LOG_ERROR("worker %u: cannot listen on %s: %s", index_, l.config->listen.text.c_str(),
                std::strerror(errno));
      ::close(fd);
      fd = -1;
    }
    std::unique_ptr<ListeningSocket> socket;
    if (fd >= 0) socket = std::make_unique<ListeningSocket>(loop_.ring(), fd);
    if (!socket && running != nullptr) {
      for (auto& old : running->listeners)
        if (old->runtime.config->listen.text == l.config->listen.text) socket = old->hand_over();
    }
    if (!socket) {
      LOG_ERROR("worker %u: listener %s has no socket; it does not accept here", index_,
                l.config->name.c_str());
      continue;
    }
    g.listeners.push_back(std::make_unique<WorkerListener>(*this, g, l, std::move(socket)));
  }
  if (running != nullptr) {
    for (auto& old : running->listeners) old->close();  // addresses no longer configured
    running->pool->close();
  }
  generations_.push_back(std::move(generation));
  for (auto& l : g.listeners) l->arm();
  adopted_.fetch_add(1, std::memory_order_release);
  if (notify_) notify_();
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

void Worker::maybe_retire(WorkerGeneration& generation) {
  if (&generation != generations_.back().get()) sweep_pending_ = true;
}

void Worker::sweep_generations() {
  sweep_pending_ = false;
  const WorkerGeneration* running = generations_.back().get();
  auto unused = [&](const std::unique_ptr<WorkerGeneration>& g) {
    if (g.get() == running || g->sessions != 0 || g->pool->live() != 0) return false;
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
  loop_.expire_timers();
  // Relays in an older generation may run to an endpoint no longer published (discovery or
  // a reload removed it): past its drain_timeout they are cut. Nothing to look at while
  // every session runs the current generation.
  if (generations_.size() > 1) cut_relays_to_removed_endpoints();
  if (stopping_ && loop_.now_ms() >= drain_deadline_ms_ && !sessions_.empty()) {
    LOG_WARN("worker %u: drain timeout, closing %zu connection%s", index_, sessions_.size(),
             sessions_.size() == 1 ? "" : "s");
    std::vector<Session*> live = sessions_;
    for (Session* s : live) s->cut("drain-timeout");
  }
  if (!stopping_)
    for (auto& l : generations_.back()->listeners)
      if (l->paused()) l->resume();
  arm_tick();  // also while draining: timeouts and the drain deadline still apply
}

void Worker::start_accepted() {
  if (accepted_.empty()) return;
  // A multishot accept takes a whole backlog in one go, so a batch can hold
  // many new sockets before any of their upstream sockets exists. Descriptors
  // are handed out lowest first: serving the lowest-numbered ones and closing
  // the rest keeps one free descriptor per client served for its upstream.
  std::sort(accepted_.begin(), accepted_.end(),
            [](const Accepted& a, const Accepted& b) { return a.fd < b.fd; });
  // First close the refused ones, so their descriptors are free before any
  // admitted session opens an upstream socket.
  int admitted = 0;
  int refused = 0;
  for (Accepted& a : accepted_) {
    if (!stopping_ && a.fd + admitted + 1 < accept_ceiling_) {
      ++admitted;
      continue;
    }
    ::close(std::exchange(a.fd, -1));
    if (stopping_) continue;
    // Serving this client could leave no descriptor for its upstream socket:
    // refuse it now rather than answer 502 later, and stop accepting for a tick.
    a.listener->counters().refused.add();
    ++refused;
    resources_short(*a.listener, 0);
    a.listener->pause();
  }
  for (const Accepted& a : accepted_)
    if (a.fd >= 0) start_session(*a.listener, a.fd);
  accepted_.clear();
  refused_while_short_ += static_cast<uint64_t>(refused);
  if (resources_short_ && admitted > 0 && refused == 0) {
    resources_short_ = false;
    LOG_WARN("worker %u: accepting again; %llu connection%s refused meanwhile", index_,
             static_cast<unsigned long long>(refused_while_short_),
             refused_while_short_ == 1 ? "" : "s");
    refused_while_short_ = 0;
  }
}

void Worker::start_session(WorkerListener& listener, int fd) {
  const SessionFactory& factory = *listener.runtime.factory;
  if (over_connection_limit(listener) || !factory.admit(fd, nullptr, listener)) {
    ::close(fd);
    return;
  }
  listener.runtime.stats->open.fetch_add(1, std::memory_order_relaxed);
  open_connections.fetch_add(1, std::memory_order_relaxed);
  auto stream = std::make_unique<Stream>(loop_, nullptr, fd);
  // A PROXY header comes before the TLS handshake: the prelude starts the transport after it.
  if (!listener.runtime.config->proxy_protocol) listener.start_transport(*stream);
  Session* session = factory.create(listener, std::move(stream));
  session->host = &listener;
  session->live_index = sessions_.size();
  sessions_.push_back(session);
  ++listener.generation.sessions;
  metrics::ListenerCounters& counters = listener.counters();
  counters.connections.add();
  counters.active.add();
  session->start();
}

bool Worker::over_connection_limit(WorkerListener& listener) {
  const config::Listener& cfg = *listener.runtime.config;
  const uint32_t total = listener.generation.snapshot->config->max_connections;
  // Two workers may both pass a check at the limit's edge: the limit can be
  // passed by at most one connection per worker, never more.
  const bool listener_full =
      cfg.max_connections != 0 &&
      listener.runtime.stats->open.load(std::memory_order_relaxed) >= cfg.max_connections;
  const bool process_full = total != 0 && open_connections.load(std::memory_order_relaxed) >= total;
  if (!listener_full && !process_full) return false;
  listener.counters().over_limit.add();
  ++over_limit_since_log_;
  const uint64_t now = loop_.now_ms();
  if (over_limit_logged_ms_ == 0 || now - over_limit_logged_ms_ >= kLimitLogIntervalMs) {
    LOG_WARN(
        "worker %u: listener %s: %s max_connections (%u) reached; %llu new connection%s "
        "closed at accept since the last report",
        index_, cfg.name.c_str(), listener_full ? "the listener's" : "the global",
        listener_full ? cfg.max_connections : total,
        static_cast<unsigned long long>(over_limit_since_log_),
        over_limit_since_log_ == 1 ? "" : "s");
    over_limit_logged_ms_ = now;
    over_limit_since_log_ = 0;
  }
  return true;
}

void Worker::resources_short(WorkerListener& listener, int error) {
  if (resources_short_) return;
  resources_short_ = true;
  if (error == 0) {
    LOG_WARN(
        "worker %u: file descriptors are running short; listener %s refuses new connections "
        "until some are free (descriptors above %d are kept for upstream connections)",
        index_, listener.runtime.config->name.c_str(), accept_ceiling_);
  } else {
    LOG_WARN("worker %u: listener %s cannot accept: %s; retrying every %ld ms", index_,
             listener.runtime.config->name.c_str(), std::strerror(-error), kTickMs);
  }
}

SessionHost* Worker::follow_reload(Session& session, WorkerListener& from) {
  const config::Listener& cfg = *from.runtime.config;
  WorkerListener* to = nullptr;
  for (auto& l : generations_.back()->listeners)
    if (l->runtime.config->listen.text == cfg.listen.text &&
        l->runtime.config->protocol == cfg.protocol)
      to = l.get();
  if (to == nullptr) return nullptr;
  --from.generation.sessions;
  from.counters().active.sub();
  if (from.runtime.stats != to->runtime.stats) {  // the listener was renamed
    from.runtime.stats->open.fetch_sub(1, std::memory_order_relaxed);
    to->runtime.stats->open.fetch_add(1, std::memory_order_relaxed);
  }
  session.host = to;
  ++to->generation.sessions;
  to->counters().active.add();
  maybe_retire(from.generation);
  return to;
}

void Worker::session_replaced(Session& session, Session& next) {
  next.host = session.host;
  next.live_index = session.live_index;
  sessions_[session.live_index] = &next;
  delete &session;
}

void Worker::session_ended(Session& session) {
  Session* last = sessions_.back();
  sessions_[session.live_index] = last;
  last->live_index = session.live_index;
  sessions_.pop_back();
  auto& listener = static_cast<WorkerListener&>(*session.host);
  listener.counters().active.sub();
  listener.runtime.stats->open.fetch_sub(1, std::memory_order_relaxed);
  open_connections.fetch_sub(1, std::memory_order_relaxed);
  WorkerGeneration& generation = listener.generation;
  delete &session;
  --generation.sessions;
  maybe_retire(generation);
}

}  // namespace sluice::proxy
