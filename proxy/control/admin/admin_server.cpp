#include "proxy/control/admin/admin_server.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

namespace sluice::proxy::admin {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

// After the response, the connection waits this long (within its deadline) for the client to
// close, reading and discarding what it still sends: closing a socket with unread input makes
// the kernel send RST, which can destroy the response before the client has read it.
constexpr auto kLinger = std::chrono::milliseconds(1000);

constexpr size_t kReadChunk = 16 * 1024;

AdminResponse error_response(int status, std::string body) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

struct AdminServer::Connection {
  enum class State { reading, writing, lingering, dead };

  Connection(int socket, Clock::time_point now, const AdminOptions& options)
      : fd(socket), deadline(now + options.deadline), accepted(now) {
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    parser.eager(true);
  }
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }

  int fd;
  State state = State::reading;
  Clock::time_point deadline;
  Clock::time_point accepted;
  std::string in;  // received bytes the parser has not consumed yet
  http::request_parser<http::string_body> parser;
  bool sent_continue = false;
  std::string out;
  size_t out_sent = 0;
};

AdminServer::AdminServer(AdminOptions options) : options_(options) {}

AdminServer::~AdminServer() {
  close();
}

std::string AdminServer::open(const config::Address& listen) {
  int fd = ::socket(listen.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return "admin: cannot create a socket: " + std::string(std::strerror(errno));
  // A restart must not fail on the previous process's connections in TIME_WAIT.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, listen.sockaddr_ptr(), listen.length) != 0 || ::listen(fd, 128) != 0) {
    std::string error = "admin: cannot listen on " + listen.text + ": " + std::strerror(errno);
    ::close(fd);
    return error;
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  uint16_t port = 0;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0)
    port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  close();
  listen_fd_ = fd;
  port_ = port;
  return {};
}

void AdminServer::close() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  port_ = 0;
}

void AdminServer::route(std::string method, std::string path, AdminHandler handler) {
  for (auto& r : routes_) {
    if (r.method == method && r.path == path) {
      r.handler = std::move(handler);
      return;
    }
  }
  routes_.push_back({std::move(method), std::move(path), std::move(handler)});
}

bool AdminServer::poll_once(std::chrono::milliseconds timeout, int extra_fd) {
  auto now = Clock::now();
  auto wait = std::chrono::duration_cast<Clock::duration>(std::max(timeout, {}));
  for (const auto& c : connections_) wait = std::min(wait, std::max(c->deadline - now, {}));

  std::vector<pollfd> fds;
  fds.reserve(connections_.size() + 2);
  const size_t listen_index = fds.size();
  if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
  const size_t extra_index = fds.size();
  if (extra_fd >= 0) fds.push_back({extra_fd, POLLIN, 0});
  const size_t first_connection = fds.size();
  for (const auto& c : connections_)
    fds.push_back(
        {c->fd, static_cast<short>(c->state == Connection::State::writing ? POLLOUT : POLLIN), 0});

  // Rounded up: waking a little before a deadline would only poll again with 0.
  const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait_ms));
  bool extra_ready = false;
  if (ready > 0) {
    if (extra_fd >= 0) extra_ready = (fds[extra_index].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
    // Connections first: accepting appends to connections_, which the indices refer to.
    for (size_t i = 0; i < connections_.size(); ++i) {
      const short events = fds[first_connection + i].revents;
      if (events == 0) continue;
      Connection& c = *connections_[i];
      if (c.state == Connection::State::writing)
        on_writable(c);
      else
        on_readable(c);
    }
    if (listen_fd_ >= 0 && (fds[listen_index].revents & POLLIN) != 0) accept_all();
  }
  now = Clock::now();
  std::erase_if(connections_, [&](const std::unique_ptr<Connection>& c) {
    return c->state == Connection::State::dead || now >= c->deadline;
  });
  return extra_ready;
}

void AdminServer::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or out of descriptors: the backlog waits for the next round
    }
    if (connections_.size() >= options_.max_connections) make_room();
    if (connections_.size() >= options_.max_connections) {
      ::close(fd);
      continue;
    }
    connections_.push_back(std::make_unique<Connection>(fd, Clock::now(), options_));
  }
}

// Idle or trickling clients could otherwise hold every slot until their deadlines and lock
// out the scraper; the one that has been reading the longest is the likeliest to be stuck.
void AdminServer::make_room() {
  std::erase_if(connections_, [](const std::unique_ptr<Connection>& c) {
    return c->state == Connection::State::dead;
  });
  if (connections_.size() < options_.max_connections) return;
  auto oldest = connections_.end();
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if ((*it)->state != Connection::State::reading) continue;
    if (oldest == connections_.end() || (*it)->accepted < (*oldest)->accepted) oldest = it;
  }
  if (oldest != connections_.end()) connections_.erase(oldest);
}

void AdminServer::on_readable(Connection& c) {
  std::array<char, kReadChunk> buffer;
  if (c.state == Connection::State::lingering) {
    // Bounded, so a client that keeps sending cannot hold the loop; the linger deadline ends it.
    for (int round = 0; round < 16; ++round) {
      ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
      if (n > 0 || (n < 0 && errno == EINTR)) continue;
      if (n == 0 || errno != EAGAIN) c.state = Connection::State::dead;
      return;
    }
    return;
  }
  bool eof = false;
  while (!eof && !c.parser.is_done()) {
    ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) {
      c.state = Connection::State::dead;
      return;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    c.in.append(buffer.data(), static_cast<size_t>(n));
    // Fed chunk by chunk, so a client sending megabytes meets the limits at once instead of
    // growing `in` first. Beast needs the whole header contiguous: on need_more it consumes
    // nothing and the bytes stay in `in` for the next round.
    size_t used = 0;
    boost::beast::error_code ec;
    while (!c.parser.is_done() && used < c.in.size()) {
      const size_t consumed =
          c.parser.put(boost::asio::buffer(c.in.data() + used, c.in.size() - used), ec);
      used += consumed;
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec || consumed == 0) break;
    }
    c.in.erase(0, used);
    if (ec) {
      const int status = ec == http::error::header_limit ? 431
                         : ec == http::error::body_limit ? 413
                                                         : 400;
      respond(c, error_response(status, "bad request: " + ec.message() + "\n"), false);
      return;
    }
    // curl sends `Expect: 100-continue` for bodies over 1 KiB and waits a second for this.
    // Best effort: the socket's send buffer is empty at this point.
    if (c.parser.is_header_done() && !c.parser.is_done() && !c.sent_continue) {
      c.sent_continue = true;
      auto expect = c.parser.get().find(http::field::expect);
      if (expect != c.parser.get().end() &&
          boost::beast::iequals(expect->value(), "100-continue")) {
        static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        [[maybe_unused]] ssize_t sent = ::send(c.fd, kContinue, sizeof kContinue - 1, MSG_NOSIGNAL);
      }
    }
  }
  if (c.parser.is_done()) {
    const auto& message = c.parser.get();
    AdminRequest request;
    request.method = std::string(message.method_string());
    const std::string_view target = message.target();
    const size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos)
      request.query = std::string(target.substr(question + 1));
    request.body = message.body();
    respond(c, dispatch(request), request.method == "HEAD");
    return;
  }
  if (eof) {
    if (c.in.empty() && !c.parser.got_some()) {
      c.state = Connection::State::dead;  // connected and left without a word
      return;
    }
    // The client half-closed mid-request; it may still be reading.
    respond(c, error_response(400, "bad request: incomplete request\n"), false);
  }
}

void AdminServer::respond(Connection& c, const AdminResponse& response, bool head) {
  c.out = serialize_response(response, head);
  c.out_sent = 0;
  c.in.clear();
  c.in.shrink_to_fit();
  c.state = Connection::State::writing;
  on_writable(c);
}

void AdminServer::on_writable(Connection& c) {
  while (c.out_sent < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // the rest when poll says POLLOUT
    if (n < 0) {
      c.state = Connection::State::dead;
      return;
    }
    c.out_sent += static_cast<size_t>(n);
  }
  ::shutdown(c.fd, SHUT_WR);
  c.out.clear();
  c.out.shrink_to_fit();
  c.state = Connection::State::lingering;
  c.deadline = std::min(c.deadline, Clock::now() + kLinger);
}

AdminResponse AdminServer::dispatch(const AdminRequest& request) {
  const Route* match = nullptr;
  const Route* get = nullptr;
  std::vector<std::string> allow;
  auto allow_method = [&](const std::string& m) {
    if (std::find(allow.begin(), allow.end(), m) == allow.end()) allow.push_back(m);
  };
  for (const auto& r : routes_) {
    if (r.path != request.path) continue;
    allow_method(r.method);
    if (r.method == "GET") {
      allow_method("HEAD");
      get = &r;
    }
    if (r.method == request.method) match = &r;
  }
  if (!match && request.method == "HEAD") match = get;
  if (allow.empty()) return error_response(404, "not found\n");
  if (!match) {
    AdminResponse r = error_response(405, "method not allowed\n");
    std::string value;
    for (const auto& m : allow) value += (value.empty() ? "" : ", ") + m;
    r.headers.emplace_back("Allow", std::move(value));
    return r;
  }
  try {
    return match->handler(request);
  } catch (const std::exception& e) {
    // A handler bug must cost one request, not the control thread.
    return error_response(500, std::string("internal error: ") + e.what() + "\n");
  }
}

}  // namespace sluice::proxy::admin
