#include "proxy/server.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "proxy/log.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/state_store.hpp"
#include "proxy/worker.hpp"

namespace sluice::proxy {

namespace {

// Every proxied connection costs two descriptors; many service managers start
// processes with a soft limit of 1024 and a far higher hard one. Like HAProxy,
// take what the hard limit allows instead of failing at ~500 connections.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t wanted = limit.rlim_max;
  limit.rlim_cur = wanted;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
    LOG_WARN("cannot raise the descriptor limit to %llu", static_cast<unsigned long long>(wanted));
}

}  // namespace

int run_server(std::shared_ptr<const config::Config> config) {
  raise_descriptor_limit();
  // Signals go to this thread only: block them before any worker exists so the
  // workers inherit the mask, then take them synchronously with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  StateStore state;
  std::string error;
  auto snapshot = Snapshot::build(config, state, error);
  if (!snapshot) {
    LOG_ERROR("%s", error.c_str());
    return 1;
  }
  unsigned count = config->workers != 0 ? config->workers : std::thread::hardware_concurrency();
  if (count == 0) count = 1;

  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::future<std::string>> ready;
  for (unsigned i = 0; i < count; ++i) {
    workers.push_back(std::make_unique<Worker>(i, snapshot));
    std::promise<std::string> promise;
    ready.push_back(promise.get_future());
    workers.back()->start(std::move(promise));
  }
  std::string failure;
  for (auto& f : ready) {
    std::string error = f.get();
    if (!error.empty() && failure.empty()) failure = error;
  }
  if (!failure.empty()) {
    LOG_ERROR("%s", failure.c_str());
    for (auto& w : workers) w->request_stop();
    workers.clear();
    return 1;
  }
  for (const auto& l : config->listeners)
    LOG_INFO("listener %s: %s on %s", l.name.c_str(),
             l.protocol == config::Protocol::tcp ? "tcp" : "http", l.listen.text.c_str());
  LOG_INFO("sluice started: %u worker%s", count, count == 1 ? "" : "s");

  // The control loop: signals, and the timer that syncs global limits with Redis.
  for (;;) {
    const auto interval = state.tick_interval();
    timespec wait{static_cast<time_t>(interval.count() / 1000),
                  static_cast<long>(interval.count() % 1000) * 1000000};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig < 0) {
      state.tick(std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::steady_clock::now().time_since_epoch())
                     .count());
      continue;
    }
    if (sig == SIGHUP) {
      LOG_WARN("SIGHUP: configuration reload is not supported yet; keeping the running config");
      continue;
    }
    LOG_INFO("%s received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  for (auto& w : workers) w->request_stop();
  workers.clear();  // joins
  LOG_INFO("sluice stopped");
  return 0;
}

}  // namespace sluice::proxy
