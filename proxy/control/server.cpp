#include "proxy/control/server.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "proxy/control/control_plane.hpp"
#include "proxy/core/log.hpp"

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

// Signals go to the control thread only: blocked before any worker exists so
// the workers inherit the mask, then read from a signalfd in the control loop.
int take_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
}

// Drains the signalfd and acts on each signal.
void handle_signals(int fd, ControlPlane& control) {
  signalfd_siginfo info{};
  while (::read(fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    switch (info.ssi_signo) {
      case SIGHUP:
        control.reload([](const std::string& why) {
          if (why.empty()) {
            LOG_INFO("SIGHUP: configuration reloaded");
          } else {
            LOG_ERROR("SIGHUP: reload failed; keeping the running config:\n%s", why.c_str());
          }
        });
        break;
      case SIGUSR1:
        LOG_INFO("SIGUSR1: reopening the access log");
        control.reopen_access_log();
        break;
      default:
        if (!control.draining())
          LOG_INFO("%s received: draining", info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        control.begin_drain();
        break;
    }
  }
}

}  // namespace

int run_server(const std::string& config_path, std::shared_ptr<const config::Config> config) {
  raise_descriptor_limit();
  const int signal_fd = take_signals();
  if (signal_fd < 0) {
    LOG_ERROR("signalfd failed");
    return 1;
  }
  int status = 0;
  {
    control::ControlLoop loop;
    if (!loop.ok()) {
      LOG_ERROR("control loop: %s", loop.error().c_str());
      ::close(signal_fd);
      return 1;
    }
    ControlPlane control(loop, config_path, config);
    if (std::string error = control.start(); !error.empty()) {
      LOG_ERROR("%s", error.c_str());
      status = 1;
    } else {
      for (const auto& l : config->listeners)
        LOG_INFO("listener %s: %s on %s", l.name.c_str(),
                 l.protocol == config::Protocol::tcp ? "tcp" : "http", l.listen.text.c_str());
      LOG_INFO("sluice started: %u worker%s", control.worker_count(),
               control.worker_count() == 1 ? "" : "s");
      loop.watch(signal_fd, EPOLLIN, [&](uint32_t) { handle_signals(signal_fd, control); });
      // Workers post to the loop when they finish draining, which wakes it.
      loop.run_until([&] { return control.draining() && control.drained(); });
      loop.unwatch(signal_fd);
    }
  }  // joins the workers
  ::close(signal_fd);
  if (status == 0) LOG_INFO("sluice stopped");
  return status;
}

}  // namespace sluice::proxy
