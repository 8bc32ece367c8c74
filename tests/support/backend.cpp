// sluice-test-backend: the upstream server the integration tests and demos put
// behind sluice. One thread, one epoll set, non-blocking sockets, so it serves
// thousands of connections without becoming the bottleneck of what it measures.
//
//   sluice-test-backend --listen 127.0.0.1:0 --mode echo|http|sink|source
//                       [--name NAME] [--bytes N] [--seed S] [--stats-file PATH]
//                       [--health-file PATH]  (GET /health answers the status in it)
//
// Prints "listening <port>" once bound. Modes:
//   echo    echoes; on the peer's EOF flushes, shuts down its write side, closes.
//   http    HTTP/1.1 200 "backend NAME\n" to every request (keep-alive, pipelining,
//           HEAD); GET /sleep?ms=N answers after N ms; GET /status/NNN answers status NNN.
//   sink    reads to EOF, answers "<bytes> <fnv1a64-hex>\n", closes.
//   source  sends N bytes of ByteStream(seed), then closes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/backend_http.hpp"
#include "tests/support/byte_stream.hpp"
#include "tests/support/fnv1a.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

enum class Mode { echo, http, sink, source };

struct Options {
  std::string listen = "127.0.0.1:0";
  std::string name = "backend";
  Mode mode = Mode::echo;
  uint64_t bytes = 0;
  uint64_t seed = 1;
  std::string stats_file;
  // GET /health answers the status written in this file (e.g. "503"), 200 when it does not
  // exist: a test makes one backend start failing its health check while it still serves.
  std::string health_file;
};

// Bounds what one connection buffers before it stops reading, so a client that
// does not read its echo gets TCP backpressure rather than growing our memory.
constexpr size_t kMaxPendingOutput = 256 * 1024;
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxHttpHead = 64 * 1024;

struct Conn {
  int fd = -1;
  uint64_t id = 0;  // distinguishes a reused fd in timers
  uint32_t events = 0;
  std::string in;
  std::string out;
  size_t out_off = 0;
  bool read_eof = false;
  bool close_after_flush = false;
  bool sleeping = false;  // http: a delayed response holds back the pipeline
  std::string delayed_response;
  Fnv1a64 hash;                      // sink
  std::optional<ByteStream> stream;  // source
  uint64_t remaining = 0;            // source

  size_t pending() const { return out.size() - out_off; }
};

struct Timer {
  Clock::time_point when;
  int fd;
  uint64_t id;
  bool operator>(const Timer& o) const { return when > o.when; }
};

class Server {
 public:
  explicit Server(Options options) : options_(std::move(options)) {}

  int run() {
    if (!setup()) return 1;
    std::vector<epoll_event> events(512);
    for (;;) {
      int timeout_ms = next_timeout_ms();
      int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
      if (n < 0 && errno != EINTR) {
        std::perror("epoll_wait");
        return 1;
      }
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == signal_fd_) return 0;
        if (fd == listen_fd_) {
          accept_all();
          continue;
        }
        Conn* c = conn(fd);
        if (c != nullptr) handle(*c, events[i].events);
      }
      fire_timers();
    }
  }

 private:
  bool setup() {
    // Tests open a thousand connections through the proxy at once.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    auto colon = options_.listen.rfind(':');
    if (colon == std::string::npos ||
        inet_pton(AF_INET, options_.listen.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
      std::fprintf(stderr, "bad --listen %s (want IPv4:port)\n", options_.listen.c_str());
      return false;
    }
    addr.sin_port = htons(static_cast<uint16_t>(std::atoi(options_.listen.c_str() + colon + 1)));
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 4096) != 0) {
      std::perror("bind/listen");
      return false;
    }
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);

    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    add_fd(listen_fd_, EPOLLIN);
    add_fd(signal_fd_, EPOLLIN);
    std::printf("listening %u\n", ntohs(addr.sin_port));
    std::fflush(stdout);
    return true;
  }

  void add_fd(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }

  Conn* conn(int fd) {
    if (fd < 0 || static_cast<size_t>(fd) >= conns_.size()) return nullptr;
    return conns_[fd].get();
  }

  void accept_all() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) std::perror("accept4");
        return;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(fd + 1024);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->id = ++next_id_;
      if (options_.mode == Mode::source) {
        c->stream.emplace(options_.seed);
        c->remaining = options_.bytes;
      }
      conns_[fd] = std::move(c);
      add_fd(fd, 0);
      ++accepted_;
      write_stats();
      Conn& added = *conns_[fd];
      if (options_.mode == Mode::source) {
        fill_source(added);
        flush(added);
      }
      if (conns_[fd]) after_io(added);
    }
  }

  // Written to a side file and renamed, so a test never reads half a line.
  void write_stats() {
    if (options_.stats_file.empty()) return;
    std::string tmp = options_.stats_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return;
    std::fprintf(f, "connections %llu\n", static_cast<unsigned long long>(accepted_));
    std::fclose(f);
    std::rename(tmp.c_str(), options_.stats_file.c_str());
  }

  void handle(Conn& c, uint32_t events) {
    // We never shut down our side before closing, so a hang-up is the peer's reset;
    // closing now also keeps a level-triggered HUP from spinning the loop.
    if (events & (EPOLLHUP | EPOLLERR)) {
      close_conn(c);
      return;
    }
    if ((events & EPOLLIN) && !read_some(c)) return;
    // Write right after reading: saves an epoll round trip per echo.
    if (c.pending() > 0 && !flush(c)) return;
    after_io(c);
  }

  // Returns false when the connection was closed.
  bool read_some(Conn& c) {
    char buf[kReadChunk];
    ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
      close_conn(c);
      return false;
    }
    if (n == 0) {
      c.read_eof = true;
      if (options_.mode == Mode::sink) {
        c.out = std::to_string(c.hash.bytes()) + " " + c.hash.hex() + "\n";
        c.close_after_flush = true;
      }
      return true;
    }
    switch (options_.mode) {
      case Mode::echo:
        c.out.append(buf, n);
        break;
      case Mode::sink:
        c.hash.update(buf, n);
        break;
      case Mode::source:
        break;  // nothing is expected; drained so close() does not turn into a reset
      case Mode::http:
        c.in.append(buf, n);
        serve_http(c);
        break;
    }
    return true;
  }

  // Writes what it can; false when the connection was closed.
  bool flush(Conn& c) {
    while (c.pending() > 0) {
      ssize_t n = send(c.fd, c.out.data() + c.out_off, c.pending(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        close_conn(c);
        return false;
      }
      c.out_off += n;
      if (c.pending() == 0 && options_.mode == Mode::source) fill_source(c);
    }
    if (c.pending() == 0) {
      c.out.clear();
      c.out_off = 0;
    } else if (c.out_off > kMaxPendingOutput) {
      c.out.erase(0, c.out_off);
      c.out_off = 0;
    }
    return true;
  }

  void fill_source(Conn& c) {
    if (c.remaining == 0 || c.pending() > 0) return;
    size_t n = static_cast<size_t>(std::min<uint64_t>(c.remaining, kReadChunk));
    c.out.resize(n);
    c.out_off = 0;
    c.stream->fill(c.out.data(), n);
    c.remaining -= n;
  }

  // Decides whether the connection is done, and what to wait for next.
  void after_io(Conn& c) {
    bool output_done = c.pending() == 0 && !c.sleeping;
    bool finished = false;
    switch (options_.mode) {
      case Mode::echo:
        finished = c.read_eof && output_done;
        break;
      case Mode::sink:
        finished = c.close_after_flush && output_done;
        break;
      case Mode::source:
        finished = c.remaining == 0 && c.pending() == 0;
        break;
      case Mode::http:
        finished = output_done && (c.read_eof || c.close_after_flush);
        break;
    }
    if (finished) {
      // Our FIN after the last byte: lets a test see the peer's half-close propagate.
      shutdown(c.fd, SHUT_WR);
      close_conn(c);
      return;
    }
    update_interest(c);
  }

  void update_interest(Conn& c) {
    uint32_t want = 0;
    bool reading = !c.read_eof && !c.close_after_flush && !c.sleeping;
    if (reading && c.pending() < kMaxPendingOutput) want |= EPOLLIN;
    if (c.pending() > 0) want |= EPOLLOUT;
    if (want == c.events) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.fd = c.fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.events = want;
  }

  void close_conn(Conn& c) {
    int fd = c.fd;
    close(fd);  // also removes it from the epoll set
    conns_[fd].reset();
  }

  // --- http -----------------------------------------------------------------

  void serve_http(Conn& c) {
    while (!c.sleeping && !c.close_after_flush) {
      HttpAnswer answer = answer_http(c.in, options_.name, options_.health_file);
      if (answer.consumed == 0) {  // the request has not all arrived yet
        if (c.in.size() > kMaxHttpHead && c.in.find("\r\n\r\n") == std::string::npos)
          c.close_after_flush = true;
        return;
      }
      c.in.erase(0, answer.consumed);
      if (answer.close) c.close_after_flush = true;
      if (answer.sleep_ms > 0) {
        c.sleeping = true;
        c.delayed_response = std::move(answer.response);
        timers_.push({Clock::now() + std::chrono::milliseconds(answer.sleep_ms), c.fd, c.id});
        return;
      }
      c.out += answer.response;
    }
  }

  int next_timeout_ms() const {
    if (timers_.empty()) return -1;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(timers_.top().when - Clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count() + 1));
  }

  void fire_timers() {
    auto now = Clock::now();
    while (!timers_.empty() && timers_.top().when <= now) {
      Timer t = timers_.top();
      timers_.pop();
      Conn* c = conn(t.fd);
      if (c == nullptr || c->id != t.id || !c->sleeping) continue;
      c->sleeping = false;
      c->out += c->delayed_response;
      c->delayed_response.clear();
      serve_http(*c);  // pipelined requests queued behind the delay
      if (!flush(*c)) continue;
      after_io(*c);
    }
  }

  Options options_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  uint64_t accepted_ = 0;
  uint64_t next_id_ = 0;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
};

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --listen HOST:PORT --mode echo|http|sink|source [--name NAME]\n"
               "          [--bytes N] [--seed S] [--stats-file PATH] [--health-file PATH]\n",
               argv0);
  return 2;
}

}  // namespace
}  // namespace sluice::testing

int main(int argc, char** argv) {
  using sluice::testing::Mode;
  sluice::testing::Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) return sluice::testing::usage(argv[0]);
    std::string value = argv[++i];
    if (arg == "--listen") {
      options.listen = value;
    } else if (arg == "--name") {
      options.name = value;
    } else if (arg == "--bytes") {
      options.bytes = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--seed") {
      options.seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--stats-file") {
      options.stats_file = value;
    } else if (arg == "--health-file") {
      options.health_file = value;
    } else if (arg == "--mode") {
      if (value == "echo") {
        options.mode = Mode::echo;
      } else if (value == "http") {
        options.mode = Mode::http;
      } else if (value == "sink") {
        options.mode = Mode::sink;
      } else if (value == "source") {
        options.mode = Mode::source;
      } else {
        return sluice::testing::usage(argv[0]);
      }
    } else {
      return sluice::testing::usage(argv[0]);
    }
  }
  return sluice::testing::Server(std::move(options)).run();
}
