#include "tests/http_integration/upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "tests/http_integration/text.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Parses "METHOD target VERSION" and the field lines of a complete head.
void parse_head(std::string_view head, UpstreamRequest& r) {
  r.raw_head = std::string(head);
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 != std::string_view::npos && sp2 != sp1) {
    r.method = line.substr(0, sp1);
    r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    r.version = line.substr(sp2 + 1);
  }
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view field = head.substr(pos, end - pos);
    pos = end + 2;
    if (field.empty()) break;
    size_t colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(std::string(field.substr(0, colon)),
                           std::string(trim(field.substr(colon + 1))));
  }
}

}  // namespace

// ---------------------------------------------------------------- UpstreamRequest

std::optional<std::string> UpstreamRequest::header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [n, v] : headers)
    if (lower(n) == want) return v;
  return std::nullopt;
}

size_t UpstreamRequest::count(std::string_view name) const {
  const std::string want = lower(name);
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(),
                                           [&](const auto& h) { return lower(h.first) == want; }));
}

bool UpstreamRequest::chunked() const {
  auto te = header("transfer-encoding");
  return te && lower(*te).find("chunked") != std::string::npos;
}

// ---------------------------------------------------------------- UpstreamConn

UpstreamConn::UpstreamConn(Upstream& owner, int fd, uint64_t id)
    : owner_(owner), fd_(fd), id_(id) {}

UpstreamConn::~UpstreamConn() {
  if (fd_ >= 0) {
    std::lock_guard lock(owner_.mutex_);
    std::erase(owner_.open_fds_, fd_);
    ::close(fd_);
  }
}

bool UpstreamConn::fill(Clock::time_point deadline) {
  if (fd_ < 0) return false;
  char tmp[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n > 0) {
      buf_.append(tmp, static_cast<size_t>(n));
      owner_.bytes_ += static_cast<uint64_t>(n);
      return true;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc == 0) return false;
    if (rc < 0 && errno != EINTR) return false;
  }
}

std::optional<UpstreamRequest> UpstreamConn::read_request(Millis timeout, bool read_body) {
  const auto deadline = Clock::now() + timeout;
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline)) return std::nullopt;
  }
  UpstreamRequest r;
  r.connection = id_;
  parse_head(std::string_view(buf_).substr(0, end + 4), r);
  buf_.erase(0, end + 4);
  ++owner_.requests_;
  if (read_body) {
    std::string body;
    bool has_body = r.chunked() || r.header("content-length").has_value();
    if (has_body && !stream_body(
                        r, [&](const char* d, size_t n) { body.append(d, n); },
                        std::chrono::duration_cast<Millis>(deadline - Clock::now()))) {
      r.body = body;
      owner_.record(r);
      return std::nullopt;
    }
    r.body = std::move(body);
  }
  owner_.record(r);
  return r;
}

bool UpstreamConn::stream_body(const UpstreamRequest& request,
                               const std::function<void(const char*, size_t)>& consumer,
                               Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  if (!request.chunked()) {
    auto cl = request.header("content-length");
    uint64_t left = cl ? std::strtoull(cl->c_str(), nullptr, 10) : 0;
    while (left > 0) {
      if (buf_.empty() && !fill(deadline)) return false;
      size_t take = static_cast<size_t>(std::min<uint64_t>(left, buf_.size()));
      consumer(buf_.data(), take);
      buf_.erase(0, take);
      left -= take;
    }
    return true;
  }
  // Chunked: size line, data, CRLF ... "0" line, trailers, empty line.
  for (;;) {
    size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos) {
      if (buf_.size() > 4096 || !fill(deadline)) return false;
    }
    std::string size_line = buf_.substr(0, eol);
    buf_.erase(0, eol + 2);
    char* stop = nullptr;
    uint64_t size = std::strtoull(size_line.c_str(), &stop, 16);
    if (stop == size_line.c_str()) return false;
    if (size == 0) {
      for (;;) {  // trailers up to the empty line
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (!fill(deadline)) return false;
        }
        bool empty = eol == 0;
        buf_.erase(0, eol + 2);
        if (empty) return true;
      }
    }
    while (size > 0) {
      if (buf_.empty() && !fill(deadline)) return false;
      size_t take = static_cast<size_t>(std::min<uint64_t>(size, buf_.size()));
      consumer(buf_.data(), take);
      buf_.erase(0, take);
      size -= take;
    }
    while (buf_.size() < 2) {
      if (!fill(deadline)) return false;
    }
    if (buf_.compare(0, 2, "\r\n") != 0) return false;
    buf_.erase(0, 2);
  }
}

bool UpstreamConn::write(std::string_view data, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

void UpstreamConn::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

void UpstreamConn::reset() {
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  std::lock_guard lock(owner_.mutex_);
  std::erase(owner_.open_fds_, fd_);
  ::close(fd_);
  fd_ = -1;
}

std::string UpstreamConn::read_until_eof(Millis timeout, size_t limit) {
  const auto deadline = Clock::now() + timeout;
  while (buf_.size() < limit && fill(deadline)) {
  }
  std::string out = std::move(buf_);
  buf_.clear();
  return out;
}

void UpstreamConn::note(std::string_view text) {
  owner_.note(text);
}

std::string UpstreamConn::read_exact(size_t n, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (buf_.size() < n) {
    if (!fill(deadline)) return "";
  }
  std::string out = buf_.substr(0, n);
  buf_.erase(0, n);
  return out;
}

// ---------------------------------------------------------------- Upstream

Upstream::Upstream(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 512) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("upstream listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

Upstream::~Upstream() {
  stop();
}

void Upstream::accept_loop() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down by stop()
    }
    if (stopping_) {
      ::close(fd);
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const uint64_t id = ++connections_;
    std::lock_guard lock(mutex_);
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd, id] {
      UpstreamConn conn(*this, fd, id);
      handler_(conn);
    });
  }
}

void Upstream::stop() {
  if (stopping_.exchange(true)) return;
  // shutdown() wakes a blocked accept() (EINVAL) and every blocked recv (EOF).
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

std::string Upstream::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void Upstream::record(const UpstreamRequest& request) {
  std::lock_guard lock(mutex_);
  UpstreamRequest copy = request;
  if (copy.body.size() > (1 << 20)) copy.body.resize(1 << 20);
  received_.push_back(std::move(copy));
}

std::vector<UpstreamRequest> Upstream::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::optional<UpstreamRequest> Upstream::last() const {
  std::lock_guard lock(mutex_);
  if (received_.empty()) return std::nullopt;
  return received_.back();
}

bool Upstream::wait_requests(uint64_t n, Millis timeout) const {
  const auto deadline = Clock::now() + timeout;
  while (requests_.load() < n) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis(5));
  }
  return true;
}

void Upstream::note(std::string_view text) {
  std::lock_guard lock(mutex_);
  notes_ += text;
}

std::string Upstream::notes() const {
  std::lock_guard lock(mutex_);
  return notes_;
}

// ---------------------------------------------------------------- helpers

std::string http_response(int status, std::string_view body, std::string_view extra_headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " Status\r\n";
  out += extra_headers;
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out += body;
  return out;
}

Upstream::Handler echo_handler(std::string name) {
  return [name](UpstreamConn& c) {
    for (;;) {
      auto r = c.read_request();
      if (!r) return;
      int status = 200;
      if (r->target.rfind("/status/", 0) == 0) status = std::atoi(r->target.c_str() + 8);
      if (r->target.rfind("/sleep/", 0) == 0)
        std::this_thread::sleep_for(Millis(std::atoi(r->target.c_str() + 7)));
      auto conn = r->header("connection");
      const bool close = conn && lower(*conn).find("close") != std::string::npos;
      std::string extra = "X-Upstream-Name: " + name +
                          "\r\nX-Upstream-Conn: " + std::to_string(c.id()) +
                          "\r\nX-Upstream-Target: " + r->target + "\r\n";
      if (close) extra += "Connection: close\r\n";
      if (!c.write(http_response(status, r->body, extra))) return;
      if (close) return;
    }
  };
}

}  // namespace sluice::testing
