#include "proxy/worker/worker_listener.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "proxy/core/log.hpp"
#include "proxy/tls/tls_transport.hpp"
#include "proxy/worker/worker.hpp"

namespace sluice::proxy {

WorkerListener::WorkerListener(Worker& w, WorkerGeneration& g, const ListenerRuntime& r, int fd)
    : worker(w),
      generation(g),
      runtime(r),
      idle_timers_(w.loop().timers(static_cast<uint64_t>(r.config->timeouts.idle.count()))),
      counters_(r.stats->per_worker.at(w.index())),
      fd_(fd) {}

void WorkerListener::arm() {
  if (armed_ || fd_ < 0) return;
  io_uring_sqe* sqe = worker.loop().ring().sqe();
  // Blocking-mode sockets: io_uring returns -EAGAIN for O_NONBLOCK ones instead of
  // waiting for readiness itself.
  io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag(this, 0));
  armed_ = true;
}

void WorkerListener::pause() {
  paused_ = true;
  cancel_accept();
}

void WorkerListener::resume() {
  paused_ = false;
  arm();
}

void WorkerListener::cancel_accept() {
  // Cancel by user_data: after close() the fd no longer finds the request,
  // and the multishot accept's own reference would keep the socket listening.
  if (armed_) worker.loop().ring().cancel(tag(this, 0), /*all=*/true);
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
    worker.accepted(*this, result);
  } else if (result == -EMFILE || result == -ENFILE || result == -ENOMEM || result == -ENOBUFS) {
    // Logged once per shortage by the worker, not per attempt; retried on a tick.
    worker.resources_short(*this, result);
    paused_ = true;
    return;
  } else if (result != -ECANCELED) {
    LOG_WARN("listener %s: accept failed: %s", runtime.config->name.c_str(),
             std::strerror(-result));
  }
  if (!armed_ && !paused_ && !worker.stopping()) arm();
  if (!armed_) worker.listener_disarmed(generation);
}

Loop& WorkerListener::loop() {
  return worker.loop();
}

unsigned WorkerListener::worker_index() const {
  return worker.index();
}

bool WorkerListener::logging() const {
  return worker.logging();
}

access_log::RecordRing* WorkerListener::access_log() {
  return worker.access_log_sample(generation);
}

bool WorkerListener::outdated() const {
  return worker.running_generation() != &generation;
}

SessionHost* WorkerListener::follow_reload(Session& session) {
  return worker.follow_reload(session, *this);
}

void WorkerListener::session_ended(Session& session) {
  worker.session_ended(session);
}

void WorkerListener::session_replaced(Session& session, Session& next) {
  worker.session_replaced(session, next);
}

int WorkerListener::start_transport(Stream& stream) {
  if (!runtime.tls) return 0;
  return tls::TlsTransport::attach(worker.loop(), stream, runtime.tls, &counters_.tls);
}

}  // namespace sluice::proxy
