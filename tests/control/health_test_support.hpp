// Helpers of the health-check tests: a loopback HTTP server that runs on the same ControlLoop
// as the probes (so a test sees exactly what a probe sent, and can answer anything), and a
// loop runner with a deadline.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "config/scalars.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::health::testing {

using namespace std::chrono_literals;

inline config::Address address_of(const std::string& text) {
  return *config::parse_address(text).value;
}

// Runs the loop until `done()` or `limit` passes; true when done.
inline bool run_until(control::ControlLoop& loop, const std::function<bool()>& done,
                      std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    loop.run_once(10ms);
  }
  return true;
}

// Listens on 127.0.0.1 (an ephemeral port, or `port`); reads each connection's request head
// and answers it with `answer(request)` and closes. start()/stop() open and close the
// listening socket, so the port refuses in between.
class LoopServer {
 public:
  using Answer = std::function<std::string(const std::string& request)>;
  LoopServer(control::ControlLoop& loop, Answer answer) : loop_(loop), answer_(std::move(answer)) {
    start();
  }
  ~LoopServer() {
    stop();
    for (auto& [fd, request] : connections_) {
      loop_.unwatch(fd);
      ::close(fd);
    }
  }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& last_request() const { return last_request_; }
  int accepted() const { return accepted_; }

  void start() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) throw errno;
    socklen_t length = sizeof(a);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &length);
    port_ = ntohs(a.sin_port);
    ::listen(listen_fd_, 64);
    loop_.watch(listen_fd_, EPOLLIN, [this](uint32_t) { accept_one(); });
  }
  void stop() {
    if (listen_fd_ < 0) return;
    loop_.unwatch(listen_fd_);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }

 private:
  void accept_one() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    ++accepted_;
    connections_[fd];
    loop_.watch(fd, EPOLLIN, [this, fd](uint32_t) { read_from(fd); });
  }
  void read_from(int fd) {
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    std::string& request = connections_[fd];
    if (n > 0) request.append(buffer, static_cast<size_t>(n));
    if (n > 0 && request.find("\r\n\r\n") == std::string::npos) return;
    last_request_ = request;
    const std::string reply = answer_(request);
    if (!reply.empty()) ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    loop_.unwatch(fd);
    ::close(fd);
    connections_.erase(fd);
  }

  control::ControlLoop& loop_;
  Answer answer_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  int accepted_ = 0;
  std::map<int, std::string> connections_;
  std::string last_request_;
};

}  // namespace sluice::proxy::health::testing
