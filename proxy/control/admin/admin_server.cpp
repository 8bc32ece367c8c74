#include "proxy/control/admin/admin_server.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

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

// How long the listener rests when descriptors or memory ran out.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

}  // namespace

struct AdminServer::Connection {
  // replying: the handler has the request and the connection waits for its reply, neither
  // reading nor on a deadline.
  enum class State { reading, replying, writing, lingering, dead };

  Connection(uint64_t connection_id, int socket, Clock::time_point end, const AdminOptions& options)
      : id(connection_id), fd(socket), deadline(end) {
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    parser.eager(true);
  }
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }

  uint64_t id;
  int fd;
  State state = State::reading;
  // Set while the loop runs this connection's handler: a reply arriving from inside it leaves
  // the connection for that handler to settle, so nothing frees it under its own feet.
  bool busy = false;
  bool head = false;  // the request was HEAD: the answer goes without its body
  Clock::time_point deadline;
  control::ControlLoop::TimerId timer = 0;  // armed for `deadline` except while replying
  std::string in;                           // received bytes the parser has not consumed yet
  http::request_parser<http::string_body> parser;
  bool sent_continue = false;
  std::string out;
  size_t out_sent = 0;
};

AdminServer::AdminServer(control::ControlLoop& loop, AdminOptions options)
    : loop_(loop), options_(options), self_(std::make_shared<AdminServer*>(this)) {}

AdminServer::~AdminServer() {
  close();
  for (auto& [id, c] : connections_) {
    loop_.unwatch(c->fd);
    loop_.cancel(c->timer);
  }
  connections_.clear();
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
  if (!loop_.watch(fd, EPOLLIN, [this](uint32_t) { accept_all(); })) {
    std::string error = "admin: cannot watch the socket for " + listen.text +
                        (loop_.ok() ? "" : ": " + loop_.error());
    ::close(fd);
    return error;
  }
  close();
  listen_fd_ = fd;
  port_ = port;
  listen_ = {listen, port};
  return {};
}

void AdminServer::close() {
  loop_.cancel(std::exchange(accept_retry_, 0));
  if (listen_fd_ >= 0) {
    loop_.unwatch(listen_fd_);
    ::close(listen_fd_);
  }
  listen_fd_ = -1;
  port_ = 0;
}

void AdminServer::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The listener stays readable while the backlog waits: watching it now
        // would wake the loop at once, forever. Look again shortly.
        loop_.modify(listen_fd_, 0);
        accept_retry_ = loop_.after(kAcceptRetry, [this] {
          accept_retry_ = 0;
          if (listen_fd_ >= 0) loop_.modify(listen_fd_, EPOLLIN);
        });
      }
      return;  // EAGAIN: the backlog is empty
    }
    if (connections_.size() >= options_.max_connections) make_room();
    if (connections_.size() >= options_.max_connections) {
      ::close(fd);
      continue;
    }
    add_connection(fd);
  }
}

void AdminServer::add_connection(int fd) {
  const uint64_t id = next_id_++;
  auto owned = std::make_unique<Connection>(id, fd, Clock::now() + options_.deadline, options_);
  if (!loop_.watch(fd, EPOLLIN, [this, id](uint32_t events) { on_event(id, events); }))
    return;  // the Connection closes the fd
  Connection& c = *owned;
  connections_.emplace(id, std::move(owned));
  settle(c);  // arms the deadline
}

// Idle or trickling clients could otherwise hold every slot until their deadlines and lock
// out the scraper; the one that has been reading the longest is the likeliest to be stuck.
// Dead connections need no sweep here: settle() removes them as they die.
void AdminServer::make_room() {
  for (const auto& [id, c] : connections_) {
    if (c->state == Connection::State::reading) {
      remove(id);
      return;
    }
  }
}

void AdminServer::on_event(uint64_t id, uint32_t events) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  c.busy = true;
  switch (c.state) {
    case Connection::State::reading:
    case Connection::State::lingering:
      on_readable(c);
      break;
    case Connection::State::writing:
      on_writable(c);
      break;
    case Connection::State::replying:
      // Not watched for anything, so this is EPOLLERR/EPOLLHUP: the client reset the
      // connection. The reply, when it comes, finds nothing.
      c.state = Connection::State::dead;
      break;
    case Connection::State::dead:
      break;
  }
  c.busy = false;
  settle(c);
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
      respond(c, text_response(status, "bad request: " + ec.message() + "\n"));
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
    request.version = message.version();
    const std::string_view target = message.target();
    const size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos)
      request.query = std::string(target.substr(question + 1));
    request.body = message.body();
    for (const auto& field : message)
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    c.head = request.method == "HEAD";
    handle(c, request);
    return;
  }
  if (eof) {
    if (c.in.empty() && !c.parser.got_some()) {
      c.state = Connection::State::dead;  // connected and left without a word
      return;
    }
    // The client half-closed mid-request; it may still be reading.
    respond(c, text_response(400, "bad request: incomplete request\n"));
  }
}

void AdminServer::handle(Connection& c, const AdminRequest& request) {
  // Before routing: a page reached through DNS rebinding learns nothing, not even which paths
  // exist.
  if (auto refusal = refuse_foreign(
          request, listen_, allowed_hosts_ ? allowed_hosts_() : std::vector<std::string>{})) {
    respond(c, *refusal);
    return;
  }
  AdminResponse error;
  const Route* route = find_route(request, &error);
  if (route == nullptr) {
    respond(c, error);
    return;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    if (auto refusal = refuse_unmarked(request, listen_)) {
      respond(c, *refusal);
      return;
    }
  }
  c.state = Connection::State::replying;
  // A copy: the handler may register routes, which would move the one running.
  const AdminAsyncHandler handler = route->handler;
  AdminReply reply = [server = std::weak_ptr<AdminServer*>(self_), id = c.id](AdminResponse r) {
    if (auto alive = server.lock()) (*alive)->reply(id, std::move(r));
  };
  try {
    handler(request, reply);
  } catch (const std::exception& e) {
    // A handler bug must cost one request, not the control thread. Ignored when the handler
    // had answered before it threw.
    reply(text_response(500, std::string("internal error: ") + e.what() + "\n"));
  }
}

void AdminServer::reply(uint64_t id, AdminResponse response) {
  auto it = connections_.find(id);
  // Gone, or answered already.
  if (it == connections_.end() || it->second->state != Connection::State::replying) return;
  Connection& c = *it->second;
  // From inside the handler, on_event settles the connection afterwards and the deadline
  // since accept still runs; answered later, the write gets a deadline of its own.
  if (!c.busy) c.deadline = Clock::now() + options_.deadline;
  respond(c, response);
  if (!c.busy) settle(c);
}

void AdminServer::respond(Connection& c, const AdminResponse& response) {
  c.out = serialize_response(response, c.head);
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
    if (n < 0 && errno == EAGAIN) return;  // the rest when the loop reports EPOLLOUT
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

// Brings the loop's view in line with the connection's state: what its fd is watched for,
// when its deadline fires, or its removal once it is dead.
void AdminServer::settle(Connection& c) {
  if (c.state == Connection::State::dead) {
    remove(c.id);
    return;
  }
  // Replying: no interest, so only EPOLLERR/EPOLLHUP (a reset) can come. modify() is a no-op
  // when nothing changes.
  uint32_t interest = EPOLLIN;
  if (c.state == Connection::State::writing) interest = EPOLLOUT;
  if (c.state == Connection::State::replying) interest = 0;
  if (!loop_.modify(c.fd, interest)) {
    remove(c.id);
    return;
  }
  loop_.cancel(c.timer);
  c.timer = 0;
  if (c.state == Connection::State::replying) return;
  const auto delay = std::chrono::ceil<std::chrono::milliseconds>(c.deadline - Clock::now());
  c.timer = loop_.after(delay, [this, id = c.id] { remove(id); });
}

void AdminServer::remove(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  if (c.busy) {
    c.state = Connection::State::dead;  // its running handler removes it on the way out
    return;
  }
  loop_.unwatch(c.fd);
  loop_.cancel(c.timer);
  connections_.erase(it);  // closes the fd
}

}  // namespace sluice::proxy::admin
