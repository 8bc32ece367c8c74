// The life of an H1Connection: client I/O events, the drive loop, timers,
// backpressure, tunnels, drain and the lingering close. Reading requests is in
// h1_requests.cpp, writing responses (the ExchangeSink) in h1_responses.cpp.
#include "proxy/l7/h1_connection.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "proxy/core/log.hpp"
#include "proxy/core/socket.hpp"

namespace sluice::proxy {
H1Connection::H1Connection(SessionHost& host, const HttpListener& listener,
                           std::unique_ptr<Stream> client)
    : listener_(&listener), client_(std::move(client)) {
  this->host = &host;
  client_->set_owner(this);
  metrics::ListenerCounters& counters = host.counters();
  client_->set_counters(&counters.bytes_received, &counters.bytes_sent);
}

H1Connection::~H1Connection() {
  host->loop().unpost(*this);
  release_request();
  // Upstream connections that began with this client's PROXY header die with it.
  host->pool().close_bound(client_.get());
}

namespace {

// The per-thread cache of request state: a worker reuses what its finished
// requests held instead of allocating, and idle connections hold nothing.
constexpr size_t kCachedRequests = 256;
thread_local std::vector<std::unique_ptr<H1Request>> cached_requests;

}  // namespace

H1Request::H1Request() : parser(http::HeadParser::request(Exchange::kLimits)) {}

void H1Connection::acquire_request() {
  if (request_) return;
  if (cached_requests.empty()) {
    request_ = std::make_unique<H1Request>();
  } else {
    request_ = std::move(cached_requests.back());
    cached_requests.pop_back();
  }
  request_->exchange.set_sink(*this);
  request_->parser.reset();
}

void H1Connection::release_request() {
  if (!request_) return;
  request_->exchange.end(0, 0);  // a no-op unless the connection ends mid-request
  if (cached_requests.size() < kCachedRequests) cached_requests.push_back(std::move(request_));
  request_.reset();
}

void H1Connection::start() {
  uint16_t port = 0;
  client_->peer(client_ip_, sizeof client_ip_, &port);
  if (host->logging()) format_address(client_ip_, port, client_address_, sizeof client_address_);
  touch();
  host->loop().timers(header_timeout_ms()).start(header_timer_, host->loop().now_ms());
  client_->receive(true);
}

void H1Connection::touch() {
  host->idle_timers().start(idle_timer_, host->loop().now_ms());
}

void H1Connection::schedule() {
  if (flags_.closing) return;
  if (flags_.driving) {
    flags_.again = true;
  } else {
    host->loop().post(*this);
  }
}

void H1Connection::on_stream_input(Stream&) {
  if (flags_.lingering) {
    // Late bytes are dropped; the client's FIN (or the linger deadline) ends it.
    if (client_->eof()) abort();
    return;
  }
  touch();
  drive();
}

void H1Connection::on_stream_sent(Stream&) {
  touch();
  if (awaiting_response() && client_->out.queued_bytes() <= ChunkQueue::kLowWater)
    request_->exchange.on_client_drained();
  drive();
}

void H1Connection::on_stream_error(Stream&, int error) {
  LOG_DEBUG("listener %s: client connection failed: %s", listener_->config.name.c_str(),
            std::strerror(-error));
  abort();
}

void H1Connection::drive() {
  if (flags_.closing) return;
  if (flags_.driving) {
    flags_.again = true;
    return;
  }
  flags_.driving = true;
  // A finished response can unblock a pipelined request already received, and
  // a request can be answered at once: go round while something changed.
  do {
    flags_.again = false;
    if (flags_.failed) {
      // The response cannot be completed: a reset, not a FIN, so that no
      // client takes what it got for a whole response.
      flags_.driving = false;
      host->counters().incomplete.add();
      abort(/*reset=*/true);
      return;
    }
    // An exchange ends when its response's last byte has left (the access log's duration
    // and the request duration histogram measure to there): a keep-alive connection moves
    // on to the next request once the send completes; a closing one ends it in maybe_linger.
    if (request_state_ == RequestState::done && flags_.response_done && client_->drained() &&
        !flags_.close_after_flush)
      finish_exchange();
    read_requests();
  } while (flags_.again && !flags_.closing);
  flags_.driving = false;
  if (flags_.closing) return;
  if (request_) request_->exchange.flush();
  client_->send();
  if (request_state_ == RequestState::tunnel) finish_tunnel();
  if (flags_.closing) return;
  adjust_backpressure();
  maybe_linger();
}

void H1Connection::finish_tunnel() {
  // Half-closes travel as in the L4 relay: each side's FIN is forwarded once
  // the bytes before it are sent, and the tunnel ends when both have been.
  if (flags_.tunnel_upstream_eof) client_->shutdown_after_send();
  if (client_->shut() && request_->exchange.tunnel_upstream_shut()) abort();
}

void H1Connection::adjust_backpressure() {
  if (flags_.lingering) return;
  // Stop reading while unparsed or unsent request bytes pile up.
  const size_t towards_upstream =
      client_->in.queued_bytes() + (request_ ? request_->exchange.request_backlog() : 0);
  if (towards_upstream > ChunkQueue::kHighWater || flags_.close_after_flush) {
    client_->receive(false);
  } else if (towards_upstream <= ChunkQueue::kLowWater) {
    client_->receive(true);
  }
}

void H1Connection::close_after_flush() {
  flags_.close_after_flush = true;
  flags_.keep_alive = false;
}

void H1Connection::maybe_linger() {
  if (!flags_.close_after_flush || flags_.lingering || !client_->drained()) return;
  // Everything is sent: half-close, then drain late client bytes briefly.
  end_exchange();
  client_->shutdown_after_send();
  flags_.lingering = true;
  client_->in.release_all(host->loop().buffers());
  client_->discard_input();
  host->loop().timers(linger_ms()).start(header_timer_, host->loop().now_ms());
  if (client_->eof()) {
    abort();
  } else {
    client_->receive(true);
  }
}

void H1Connection::on_timer(int kind) {
  if (flags_.closing) return;
  switch (kind) {
    case kIdleTimer:
      // Waiting on the endpoint is the request timeout's business, waiting in a rate limit's
      // queue the limit's (bounded by its queue and rate).
      if ((awaiting_response() || (request_ && request_->exchange.queued())) && !flags_.lingering) {
        touch();
        return;
      }
      abort();
      return;
    case kHeaderTimer:
      if (flags_.lingering || !flags_.request_started) {
        abort();
        return;
      }
      host->counters().timeouts.add();
      request_->exchange.respond_error(408, "header-timeout");
      drive();
      return;
  }
}

void H1Connection::drain() {
  // Idle between requests: nothing to finish. Otherwise the current response
  // goes out with Connection: close and the connection ends after it.
  if (request_state_ == RequestState::head && !flags_.request_started && !awaiting_response() &&
      client_->out.empty()) {
    abort();
    return;
  }
  flags_.keep_alive = false;
  if (request_state_ == RequestState::head && !awaiting_response()) close_after_flush();
  drive();
}

void H1Connection::abort() {
  abort(false);
}

const EndpointState* H1Connection::relay_endpoint() const {
  if (request_state_ != RequestState::tunnel || !request_) return nullptr;
  return request_->exchange.tunnel_endpoint();
}

void H1Connection::cut(std::string_view reason) {
  if (request_) request_->exchange.note_cut(reason);
  abort(false);
}

void H1Connection::abort(bool reset) {
  if (flags_.closing) return;
  end_exchange();
  flags_.closing = true;
  TimerList::stop(idle_timer_);
  TimerList::stop(header_timer_);
  host->loop().unpost(*this);
  if (reset) {
    client_->reset();
  } else {
    client_->close();
  }
  // on_stream_closed ends the session
}

void H1Connection::on_stream_closed(Stream&) {
  host->session_ended(*this);  // frees this connection: nothing after
}

}  // namespace sluice::proxy
