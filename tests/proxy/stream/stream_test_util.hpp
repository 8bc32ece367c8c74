// Helpers for tests that drive a Loop against sockets: socketpairs and
// loopback TCP pairs whose far end the test works with plain non-blocking
// syscalls, a StreamOwner that records what it hears, and bounded loop pumps
// (the loop runs with a short timeout until a condition holds, never a sleep).
// Shared by tests/proxy/stream/ and tests/proxy/upstream/. Test thread only.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/scalars.hpp"
#include "proxy/core/loop.hpp"
#include "proxy/stream/stream.hpp"

namespace sluice::proxy::test {

// An owned descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

inline void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Whether `fd` is still an open descriptor of this process.
inline bool fd_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

// Runs the loop (5 ms waits) until `done` holds; false after `max_ms`.
inline bool pump_until(Loop& loop, const std::function<bool()>& done, int max_ms = 3000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline || !loop.run_once(5)) return false;
  }
  return true;
}

// Runs the loop for `ms`, for "nothing happens meanwhile" checks.
inline void pump_for(Loop& loop, int ms) {
  pump_until(
      loop, [] { return false; }, ms);
}

// Everything readable now (non-blocking fd); `eof` set when read returned 0.
inline std::string read_now(int fd, bool* eof = nullptr) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 && eof != nullptr) *eof = true;
    return out;
  }
}

// Reads from a non-blocking fd while running the loop, until `size` bytes (or
// EOF, when `until_eof`) arrived. Returns what was read; `eof` tells whether
// the stream ended.
inline std::string read_while_pumping(Loop& loop, int fd, size_t size, bool until_eof = false,
                                      bool* eof = nullptr) {
  std::string got;
  bool ended = false;
  pump_until(loop, [&] {
    got += read_now(fd, &ended);
    return ended || (!until_eof && got.size() >= size);
  });
  if (eof != nullptr) *eof = ended;
  return got;
}

// Writes all of `bytes` to a non-blocking fd, running the loop while the
// socket buffer is full (the stream drains it).
inline bool write_while_pumping(Loop& loop, int fd, std::string_view bytes) {
  return pump_until(loop, [&] {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  });
}

// A connected AF_UNIX stream pair: first for the Stream, second (non-blocking)
// for the test's plain syscalls.
// Writes what the socket buffer takes now; how much that was.
inline size_t write_now(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

inline std::pair<Fd, Fd> unix_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return {};
  set_nonblocking(fds[1]);
  return {Fd(fds[0]), Fd(fds[1])};
}

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A TCP socket bound to 127.0.0.1 on a kernel-chosen port; listening with
// `backlog` unless it is negative (then connects to it are refused).
inline Fd bound_loopback(uint16_t* port, int backlog) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in a = loopback(0);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return {};
  socklen_t len = sizeof a;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  if (backlog >= 0 && ::listen(s.get(), backlog) != 0) return {};
  return s;
}

inline config::Address loopback_address(uint16_t port) {
  return *config::parse_address("127.0.0.1:" + std::to_string(port)).value;
}

// Accepts one connection (non-blocking) while running the loop.
inline Fd accept_while_pumping(Loop& loop, int listener) {
  Fd accepted;
  pump_until(loop, [&] {
    accepted.reset(::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    return accepted.get() >= 0;
  });
  return accepted;
}

// A connected loopback TCP pair made with plain syscalls: first for the
// Stream, second (non-blocking) for the test.
inline std::pair<Fd, Fd> tcp_pair() {
  uint16_t port = 0;
  Fd listener = bound_loopback(&port, 4);
  if (listener.get() < 0) return {};
  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(port);
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return {};
  // The handshake is done in the kernel: the connection is in the accept queue.
  Fd server(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  return {std::move(client), std::move(server)};
}

// Closes `fd` so that the peer sees a reset instead of a FIN.
inline void reset_close(Fd& fd) {
  linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

// Records every callback; hooks let a test act inside one.
class RecordingOwner : public StreamOwner {
 public:
  void on_stream_input(Stream& s) override {
    ++inputs;
    if (s.eof()) ++eofs;
    events.push_back(s.eof() ? "eof" : "input");
    if (on_input) on_input(s);
  }
  void on_stream_sent(Stream&) override {
    ++sent;
    events.push_back("sent");
  }
  void on_stream_error(Stream&, int error) override {
    errors.push_back(error);
    events.push_back("error");
  }
  void on_stream_connected(Stream&, int result) override {
    connects.push_back(result);
    events.push_back("connected");
  }
  void on_stream_closed(Stream& s) override {
    ++closed;
    events.push_back("closed");
    if (on_closed) on_closed(s);
  }
  size_t callbacks() const { return events.size(); }

  int inputs = 0;
  int eofs = 0;
  int sent = 0;
  int closed = 0;
  std::vector<int> errors;
  std::vector<int> connects;
  std::vector<std::string> events;  // every callback, in order
  std::function<void(Stream&)> on_input;
  std::function<void(Stream&)> on_closed;
};

// The bytes of a queue, in order.
inline std::string contents(const ChunkQueue& q, const BufferRing& buffers) {
  std::string all;
  q.for_each_chunk(buffers, [&](std::string_view chunk) {
    all += chunk;
    return true;
  });
  return all;
}

// Takes everything the stream received so far.
inline std::string take_input(Stream& s, BufferRing& buffers) {
  std::string all = contents(s.in, buffers);
  s.in.release_all(buffers);
  return all;
}

// `size` bytes of a pattern that shows reordering and loss.
inline std::string pattern(size_t size, size_t seed = 0) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251 + seed) % 26);
  return s;
}

}  // namespace sluice::proxy::test
