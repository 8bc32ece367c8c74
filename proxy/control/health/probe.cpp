#include "proxy/control/health/probe.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::proxy::health {
namespace {

limiter::Nanos steady_ns(control::ControlLoop::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string connect_reason(int error) {
  if (error == ECONNREFUSED) return "connect refused";
  return std::string("connect failed: ") + std::strerror(error);
}

}  // namespace

std::string describe_duration(config::Duration duration) {
  const auto ms = duration.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string health_request(const config::HealthCheck& spec, const config::Address& address) {
  const std::string& host = spec.http_host.empty() ? address.text : spec.http_host;
  return "GET " + spec.http_path + " HTTP/1.1\r\nHost: " + host +
         "\r\nUser-Agent: sluice-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n";
}

bool status_expected(const config::HealthCheck& spec, int status) {
  for (const auto& range : spec.http_expect)
    if (status >= range.low && status <= range.high) return true;
  return false;
}

Probe::Probe(control::ControlLoop& loop, const config::Address& address,
             const config::HealthCheck& spec, Done done)
    : loop_(loop), address_(address), spec_(spec), done_(std::move(done)) {
  start();
}

Probe::~Probe() {
  release();
}

void Probe::start() {
  // The deadline covers the whole probe: connect, request and status line.
  timer_ = loop_.after(spec_.timeout, [this] {
    timer_ = 0;
    on_timeout();
  });
  fd_ = ::socket(address_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd_ < 0) {
    const int error = errno;
    // Reported from the loop, as promised: the caller is still inside the constructor.
    loop_.cancel(timer_);
    timer_ = loop_.after(std::chrono::milliseconds(0), [this, error] {
      timer_ = 0;
      finish(Outcome::connect_error, std::string("no socket: ") + std::strerror(error));
    });
    return;
  }
  if (::connect(fd_, address_.sockaddr_ptr(), address_.length) != 0 && errno != EINPROGRESS) {
    const int error = errno;
    loop_.cancel(timer_);
    timer_ = loop_.after(std::chrono::milliseconds(0), [this, error] {
      timer_ = 0;
      finish(error == ECONNREFUSED ? Outcome::refused : Outcome::connect_error,
             connect_reason(error));
    });
    return;
  }
  // Writable means connected (or failed: SO_ERROR says which).
  loop_.watch(fd_, EPOLLOUT, [this](uint32_t events) { on_events(events); });
}

void Probe::on_events(uint32_t events) {
  switch (phase_) {
    case Phase::connecting: {
      int error = 0;
      socklen_t length = sizeof(error);
      if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
      if (error != 0) {
        finish(error == ECONNREFUSED ? Outcome::refused : Outcome::connect_error,
               connect_reason(error));
        return;
      }
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
      on_connected();
      return;
    }
    case Phase::sending:
      send_some();
      return;
    case Phase::receiving:
      receive_some();
      return;
    case Phase::finished:
      return;
  }
}

void Probe::on_connected() {
  if (spec_.kind == config::HealthCheck::Kind::tcp) {
    finish(Outcome::ok, "connected");
    return;
  }
  request_ = health_request(spec_, address_);
  phase_ = Phase::sending;
  send_some();
}

void Probe::send_some() {
  while (sent_ < request_.size()) {
    const ssize_t n = ::send(fd_, request_.data() + sent_, request_.size() - sent_, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;  // EPOLLOUT again later
    if (n < 0) {
      finish(Outcome::bad_response, std::string("send failed: ") + std::strerror(errno));
      return;
    }
    sent_ += static_cast<size_t>(n);
  }
  phase_ = Phase::receiving;
  loop_.modify(fd_, EPOLLIN);
}

void Probe::receive_some() {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    ResponseHead::State state = ResponseHead::State::need_more;
    if (n < 0) {
      // A reset before the head: the server (or a proxy in front) refused to answer.
      finish(Outcome::bad_response, std::string("receive failed: ") + std::strerror(errno));
      return;
    }
    state = n == 0 ? head_.eof() : head_.feed(std::string_view(buffer, static_cast<size_t>(n)));
    if (state == ResponseHead::State::error) {
      finish(Outcome::bad_response, head_.error());
      return;
    }
    if (state == ResponseHead::State::done) {
      const int status = head_.status();
      finish(status_expected(spec_, status) ? Outcome::ok : Outcome::bad_status,
             "status " + std::to_string(status));
      return;
    }
  }
}

void Probe::on_timeout() {
  const char* where = phase_ == Phase::connecting ? " (connecting)"
                      : phase_ == Phase::sending  ? " (sending the request)"
                                                  : " (no status line)";
  finish(Outcome::timeout, "timeout after " + describe_duration(spec_.timeout) + where);
}

void Probe::finish(Outcome outcome, std::string reason) {
  if (phase_ == Phase::finished) return;
  phase_ = Phase::finished;
  release();
  // Moved out first: `done` may destroy this probe, so nothing here touches it afterwards.
  Done done = std::move(done_);
  done(CheckResult{outcome, std::move(reason), steady_ns(loop_.now())});
}

void Probe::release() {
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    // RST rather than FIN: a health check must not leave TIME_WAIT sockets behind by the
    // thousand (interval x endpoints); the server sees an abort it can ignore.
    linger abort{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
    ::close(fd_);
  }
  fd_ = -1;
}

}  // namespace sluice::proxy::health
