#include "proxy/control/discovery/http_stream.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <cstring>

namespace sluice::proxy::discovery {

namespace http = boost::beast::http;

struct HttpStream::Parser {
  http::response_parser<http::string_body> beast;
};

std::string HttpHead::field(std::string_view name) const {
  for (const auto& [key, value] : fields)
    if (boost::beast::iequals(key, name)) return value;
  return {};
}

HttpStream::HttpStream(control::ControlLoop& loop) : loop_(loop) {}

HttpStream::~HttpStream() {
  close();
}

void HttpStream::close() {
  ++generation_;
  loop_.cancel(head_timer_);
  loop_.cancel(whole_timer_);
  loop_.cancel(failing_);
  head_timer_ = whole_timer_ = failing_ = 0;
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  parser_.reset();
  in_.clear();
  out_.clear();
}

void HttpStream::start(const config::Address& to, HttpRequest request, HttpHandlers handlers) {
  close();
  request_ = std::move(request);
  handlers_ = std::move(handlers);
  peer_ = to.text;
  connected_ = false;
  head_seen_ = false;
  sent_ = 0;
  parser_ = std::make_unique<Parser>();
  parser_->beast.eager(true);
  parser_->beast.body_limit(boost::none);  // the body is handed on as it arrives
  parser_->beast.header_limit(64 * 1024);

  const std::string host = request_.host.empty() ? to.text : request_.host;
  out_ = request_.method + " " + request_.target + " HTTP/1.1\r\nHost: " + host +
         "\r\nAccept: application/json\r\nConnection: close\r\n";
  if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT")
    out_ += "Content-Type: " + request_.content_type +
            "\r\nContent-Length: " + std::to_string(request_.body.size()) + "\r\n";
  out_ += "\r\n" + request_.body;

  fd_ = ::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return fail_later(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd_, to.sockaddr_ptr(), to.length) != 0 && errno != EINPROGRESS)
    return fail_later("connect to " + peer_ + ": " + std::strerror(errno));
  if (!loop_.watch(fd_, EPOLLIN | EPOLLOUT, [this](uint32_t events) { on_events(events); }))
    return fail_later("cannot watch the connection to " + peer_);
  arm_timer(
      head_timer_, request_.timeout,
      "no response from " + peer_ + " within " + std::to_string(request_.timeout.count()) + " ms");
  if (request_.complete_within.count() > 0)
    arm_timer(whole_timer_, request_.complete_within,
              "the response from " + peer_ + " took over " +
                  std::to_string(request_.complete_within.count()) + " ms");
}

void HttpStream::arm_timer(control::ControlLoop::TimerId& slot, std::chrono::milliseconds after,
                           std::string why) {
  slot = loop_.after(after, [this, &slot, why = std::move(why)] {
    slot = 0;  // fired; fail()'s close() cancels the other timer
    fail(why);
  });
}

void HttpStream::fail_later(std::string why) {
  // Reported from the loop so a caller never sees its handler run inside its own start().
  const uint64_t generation = generation_;
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  failing_ = loop_.after(std::chrono::milliseconds(0), [this, generation, why = std::move(why)] {
    failing_ = 0;
    if (generation == generation_) fail(why);
  });
}

void HttpStream::fail(std::string why) {
  auto handler = std::move(handlers_.error);
  close();
  if (handler) handler(std::move(why));
}

void HttpStream::finish() {
  auto handler = std::move(handlers_.done);
  close();
  if (handler) handler();
}

void HttpStream::on_events(uint32_t events) {
  if (!connected_) {
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return fail("connect to " + peer_ + ": " + std::strerror(error));
    if ((events & (EPOLLOUT | EPOLLIN)) == 0) return fail("connect to " + peer_ + " failed");
    connected_ = true;
  }
  if (events & EPOLLOUT) {
    const uint64_t generation = generation_;
    send_some();
    if (generation != generation_) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) receive();
}

void HttpStream::send_some() {
  while (sent_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return fail("send to " + peer_ + ": " + std::strerror(errno));
    }
    sent_ += static_cast<size_t>(n);
  }
  out_.clear();
  loop_.modify(fd_, EPOLLIN);  // the request is out: only the answer matters now
}

void HttpStream::receive() {
  const uint64_t generation = generation_;
  char buffer[16 * 1024];
  // A bounded number of reads per wake-up, so one busy stream does not starve the loop.
  for (int round = 0; round < 16; ++round) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return fail("receive from " + peer_ + ": " + std::strerror(errno));
    }
    if (n == 0) {
      boost::beast::error_code ec;
      if (!feed()) return;
      // Beast asserts that put_eof follows some input: a peer that closes before any byte
      // of a response is a plain failure, not a response to end.
      if (!parser_->beast.got_some())
        return fail(peer_ + " closed the connection before sending a response");
      parser_->beast.put_eof(ec);
      if (!ec && parser_->beast.is_done()) return finish();
      return fail(peer_ + " closed the connection before the response ended");
    }
    in_.append(buffer, static_cast<size_t>(n));
    if (!feed() || generation != generation_) return;
  }
}

bool HttpStream::feed() {
  const uint64_t generation = generation_;
  auto& parser = parser_->beast;
  size_t used = 0;
  while (used < in_.size() && !parser.is_done()) {
    boost::beast::error_code ec;
    const size_t n = parser.put(boost::asio::buffer(in_.data() + used, in_.size() - used), ec);
    used += n;
    // need_more still consumed what it could (an eager parser takes the head and the first
    // chunk in one go): what it produced is handed on before waiting for more bytes.
    const bool need_more = ec == http::error::need_more;
    if (ec && !need_more) {
      fail("malformed response from " + peer_ + ": " + ec.message());
      return false;
    }
    if (parser.is_header_done() && !head_seen_) {
      head_seen_ = true;
      loop_.cancel(head_timer_);
      head_timer_ = 0;
      HttpHead head;
      head.status = parser.get().result_int();
      for (const auto& f : parser.get().base())
        head.fields.emplace_back(std::string(f.name_string()), std::string(f.value()));
      if (handlers_.head) handlers_.head(head);
      if (generation != generation_) return false;
    }
    std::string& body = parser.get().body();
    if (!body.empty()) {
      const std::string piece = std::move(body);
      body.clear();
      if (handlers_.body) handlers_.body(piece);
      if (generation != generation_) return false;
    }
    if (need_more || n == 0) break;
  }
  in_.erase(0, used);
  if (parser.is_done()) {
    finish();
    return false;
  }
  return true;
}

}  // namespace sluice::proxy::discovery
