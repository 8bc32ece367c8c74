#include "proxy/worker/worker_listener.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include "proxy/core/log.hpp"
#include "proxy/tls/tls_transport.hpp"
#include "proxy/worker/worker.hpp"

namespace sluice::proxy {

WorkerListener::WorkerListener(Worker& w, WorkerGeneration& g, const ListenerRuntime& r,
                               std::unique_ptr<ListeningSocket> socket)
    : worker(w),
      generation(g),
      runtime(r),
      idle_timers_(w.loop().timers(static_cast<uint64_t>(r.config->timeouts.idle.count()))),
      counters_(r.stats->per_worker.at(w.index())),
      socket_(std::move(socket)) {
  if (socket_) socket_->set_owner(this);
}

void WorkerListener::arm() {
  if (socket_) socket_->arm();
}

void WorkerListener::pause() {
  paused_ = true;
  if (socket_) socket_->cancel();
}

void WorkerListener::resume() {
  paused_ = false;
  arm();
}

void WorkerListener::close() {
  // The socket stays until its cancelled accept has completed (armed()).
  if (socket_) socket_->close();
}

std::unique_ptr<ListeningSocket> WorkerListener::hand_over() {
  // A pause's cancel may still be on its way: the next listener re-arms when it completes.
  paused_ = false;
  return std::move(socket_);
}

void WorkerListener::on_accept(int result) {
  if (result >= 0) {
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
  if (!armed() && !paused_ && !worker.stopping()) arm();
  if (!armed()) worker.listener_disarmed(generation);
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
