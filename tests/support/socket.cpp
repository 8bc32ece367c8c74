#include "tests/support/socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_set>
#include <vector>

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

}  // namespace

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

// The local (or, with `peer`, the remote) port of an IPv4 or IPv6 socket; 0 when it has none.
uint16_t port_of(int fd, bool peer = false) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  const int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                      : getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  if (rc != 0 || (a.ss_family != AF_INET && a.ss_family != AF_INET6)) return 0;
  return ntohs(a.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(a).sin6_port
                                       : reinterpret_cast<const sockaddr_in&>(a).sin_port);
}

// The kernel may hand a just-released port out again at once: a test that asks twice before
// binding either (an admin port and a listener) would then write one address twice. So this
// process never gets the same answer twice.
//
// And the ports come from below the kernel's ephemeral range (net.ipv4.ip_local_port_range):
// every outgoing connection on the box takes its source port from that range, so a port found
// free there may be taken by another test's client before sluice binds it (CI saw an admin port
// "already in use"). Below it only listeners that tests place compete; each process draws at
// random from its own slice (by pid), so two tests running side by side rarely even meet.
// `bound(port)` is a socket bound to `port` of some address (0: the kernel picks).
uint16_t first_answer(const std::function<Socket(uint16_t)>& bound) {
  static std::mutex mutex;
  static std::unordered_set<uint16_t> handed_out;
  static std::mt19937 random(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  constexpr unsigned kLow = 10000;
  constexpr unsigned kSlices = 32;
  unsigned ephemeral = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> ephemeral;
  const unsigned slice = ephemeral > kLow ? (ephemeral - kLow) / kSlices : 0;
  std::lock_guard lock(mutex);
  if (slice >= 64) {
    const unsigned base = kLow + slice * (static_cast<unsigned>(::getpid()) % kSlices);
    for (int attempt = 0; attempt < 256; ++attempt) {
      const auto port = static_cast<uint16_t>(base + random() % slice);
      if (handed_out.count(port) != 0) continue;
      if (Socket s = bound(port); s.valid()) {
        handed_out.insert(port);
        return port;
      }
    }
  }
  for (int attempt = 0; attempt < 64; ++attempt) {  // a box whose ephemeral range starts low
    Socket s = bound(0);
    if (!s.valid()) return 0;
    const uint16_t port = port_of(s.fd());
    if (port != 0 && handed_out.insert(port).second) return port;
  }
  return 0;
}

}  // namespace

uint16_t free_loopback_port() {
  return first_answer([](uint16_t port) {
    Socket s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a = loopback(port);
    if (bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Socket();
    return s;
  });
}

uint16_t free_wildcard_port() {
  return first_answer([](uint16_t port) {
    Socket s(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int v6only = 0;  // free on 0.0.0.0 as well as on [::]
    setsockopt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(port);
    if (bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Socket();
    return s;
  });
}

Socket reserve_refusing_port(uint16_t* port) {
  Socket s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  if (bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Socket();
  socklen_t len = sizeof a;
  getsockname(s.fd(), reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return s;
}

Blackhole make_blackhole() {
  Blackhole b;
  b.listener = reserve_refusing_port(&b.port);
  // Backlog 0 still queues one connection; the kernel drops SYNs once it is full.
  if (!b.listener.valid() || listen(b.listener.fd(), 0) != 0) return Blackhole{};
  for (int i = 0; i < 16; ++i) {
    Socket s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in a = loopback(b.port);
    connect(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    bool connected = wait_for(s.fd(), POLLOUT, Clock::now() + Millis(200));
    b.fillers.push_back(std::move(s));
    if (!connected) return b;  // this SYN went unanswered: the queue is full
  }
  return Blackhole{};
}

std::string loopback_address(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

Socket connect_loopback(uint16_t port, Millis timeout, std::string* error) {
  auto deadline = Clock::now() + timeout;
  Socket s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(port);
  int rc = connect(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  int err = rc == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    if (!wait_for(s.fd(), POLLOUT, deadline)) {
      if (error) *error = "connect timed out";
      return Socket();
    }
    socklen_t len = sizeof err;
    getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
  }
  if (err != 0) {
    if (error) *error = std::string("connect: ") + std::strerror(err);
    return Socket();
  }
  return s;
}

bool wait_port_accepts(uint16_t port, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (connect_loopback(port, Millis(200)).valid()) return true;
    std::this_thread::sleep_for(Millis(5));
  }
  return false;
}

namespace {

// The kernel's TCP states as /proc/net/tcp numbers them (include/net/tcp_states.h).
std::string tcp_state_name(const std::string& hex) {
  static const char* const kNames[] = {"?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
                                       "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                                       "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};
  const unsigned long n = std::stoul(hex, nullptr, 16);
  return n < std::size(kNames) ? kNames[n] : "state " + hex;
}

}  // namespace

std::string server_side_view(const Socket& client) {
  const uint16_t mine = port_of(client.fd());
  const uint16_t server = port_of(client.fd(), /*peer=*/true);
  if (mine == 0 || server == 0) return "no connection to look up";
  std::string listener = "no listener found on :" + std::to_string(server);
  std::string end = "the server's end of this one: not found";
  // A line: "sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode ...", with
  // addresses as HEXADDR:HEXPORT (both files). A listener's rx_queue is its accept backlog;
  // inode 0 is a socket no process holds (not accepted yet).
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream table(path);
    std::string line;
    std::getline(table, line);  // the header
    while (std::getline(table, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
            timeout >> inode))
        continue;
      const auto port = [](const std::string& address) {
        const size_t colon = address.find(':');
        return colon == std::string::npos ? 0ul
                                          : std::stoul(address.substr(colon + 1), nullptr, 16);
      };
      const size_t colon = queues.find(':');
      if (colon == std::string::npos) continue;
      const unsigned long rx = std::stoul(queues.substr(colon + 1), nullptr, 16);
      if (port(local) != server) continue;
      if (state == "0A") {
        listener = "the listener on :" + std::to_string(server) + " has " + std::to_string(rx) +
                   " connection" + (rx == 1 ? "" : "s") + " waiting to be accepted";
      } else if (port(remote) == mine) {
        end = std::string("the server's end of this one: ") +
              (inode == "0" ? "not accepted by any process" : "accepted") + ", " +
              std::to_string(rx) + " bytes unread, " + tcp_state_name(state);
      }
    }
  }
  return listener + "; " + end;
}

bool send_all(const Socket& s, std::string_view data, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (!data.empty()) {
    ssize_t n = send(s.fd(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(s.fd(), POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

bool shutdown_write(const Socket& s) {
  return shutdown(s.fd(), SHUT_WR) == 0;
}

const char* to_string(StreamEnd end) {
  switch (end) {
    case StreamEnd::eof:
      return "eof";
    case StreamEnd::reset:
      return "reset";
    case StreamEnd::timeout:
      return "timeout";
    case StreamEnd::limit:
      return "limit";
  }
  return "?";
}

ReceiveResult recv_until_eof(const Socket& s, Millis timeout, size_t limit) {
  auto deadline = Clock::now() + timeout;
  ReceiveResult r;
  char buf[64 * 1024];
  for (;;) {
    if (r.data.size() >= limit) {
      r.end = StreamEnd::limit;
      return r;
    }
    ssize_t n = recv(s.fd(), buf, std::min(sizeof buf, limit - r.data.size()), 0);
    if (n > 0) {
      r.data.append(buf, n);
    } else if (n == 0) {
      r.end = StreamEnd::eof;
      return r;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(s.fd(), POLLIN, deadline)) {
        r.end = StreamEnd::timeout;
        return r;
      }
    } else {
      r.end = StreamEnd::reset;
      return r;
    }
  }
}

PumpResult pump(const Socket& s, const Producer& producer, const Consumer& consumer,
                Millis timeout) {
  auto deadline = Clock::now() + timeout;
  PumpResult r;
  std::vector<char> out(256 * 1024);
  size_t out_begin = 0, out_end = 0;
  bool producer_done = false, write_shut = false;
  std::vector<char> in(256 * 1024);
  for (;;) {
    if (out_begin == out_end && !producer_done) {
      out_begin = 0;
      out_end = producer(out.data(), out.size());
      producer_done = out_end == 0;
    }
    if (producer_done && !write_shut) {
      if (shutdown(s.fd(), SHUT_WR) != 0) {
        r.error = std::string("shutdown: ") + std::strerror(errno);
        return r;
      }
      write_shut = true;
    }
    pollfd p{s.fd(), static_cast<short>(POLLIN | (write_shut ? 0 : POLLOUT)), 0};
    int n = poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      r.error = "timed out after sending " + std::to_string(r.sent) + " and receiving " +
                std::to_string(r.received) + " bytes";
      return r;
    }
    if (p.revents & POLLIN || p.revents & (POLLHUP | POLLERR)) {
      ssize_t got = recv(s.fd(), in.data(), in.size(), 0);
      if (got > 0) {
        consumer(in.data(), got);
        r.received += got;
      } else if (got == 0) {
        r.ok = write_shut;
        if (!r.ok) r.error = "EOF before everything was sent (" + std::to_string(r.sent) + " sent)";
        return r;
      } else if (errno != EAGAIN && errno != EINTR) {
        r.error = std::string("recv: ") + std::strerror(errno) + " after receiving " +
                  std::to_string(r.received) + " bytes";
        return r;
      }
    }
    if (!write_shut && (p.revents & POLLOUT) && out_begin < out_end) {
      ssize_t put = send(s.fd(), out.data() + out_begin, out_end - out_begin, MSG_NOSIGNAL);
      if (put > 0) {
        out_begin += put;
        r.sent += put;
      } else if (put < 0 && errno != EAGAIN && errno != EINTR) {
        r.error = std::string("send: ") + std::strerror(errno) + " after sending " +
                  std::to_string(r.sent) + " bytes";
        return r;
      }
    }
  }
}

PumpResult drain(const Socket& s, const Consumer& consumer, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  PumpResult r;
  std::vector<char> in(256 * 1024);
  for (;;) {
    ssize_t got = recv(s.fd(), in.data(), in.size(), 0);
    if (got > 0) {
      consumer(in.data(), got);
      r.received += got;
    } else if (got == 0) {
      r.ok = true;
      return r;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(s.fd(), POLLIN, deadline)) {
        r.error = "timed out after receiving " + std::to_string(r.received) + " bytes";
        return r;
      }
    } else {
      r.error = std::string("recv: ") + std::strerror(errno) + " after receiving " +
                std::to_string(r.received) + " bytes";
      return r;
    }
  }
}

PumpResult exchange(const Socket& s, std::string_view payload, std::string* answer,
                    Millis timeout) {
  size_t offset = 0;
  return pump(
      s,
      [&](char* buf, size_t cap) {
        size_t n = std::min(cap, payload.size() - offset);
        std::memcpy(buf, payload.data() + offset, n);
        offset += n;
        return n;
      },
      [&](const char* data, size_t size) { answer->append(data, size); }, timeout);
}

}  // namespace sluice::testing
