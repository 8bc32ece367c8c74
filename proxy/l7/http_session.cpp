#include "proxy/l7/http_session.hpp"

#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "proxy/l7/h1/route.hpp"
#include "proxy/l7/h1/serialize.hpp"
#include "proxy/core/log.hpp"
#include "proxy/upstream/outcome.hpp"
#include "proxy/l7/request_id.hpp"
#include "proxy/l7/request_key.hpp"
#include "proxy/core/socket.hpp"
#include "proxy/worker/worker.hpp"

namespace sluice::proxy {
namespace {

// A request head must arrive whole within this long (slowloris); a closing
// connection drains the client's late bytes for at most kLingerMs so that our
// final response is not destroyed by a reset.
constexpr uint64_t kHeaderTimeoutMs = 10000;
constexpr uint64_t kLingerMs = 2000;

}  // namespace

HttpSession::HttpSession(Worker& worker, WorkerListener& listener, int client_fd)
    : worker_(worker),
      listener_(&listener),
      client_fd_(client_fd),
      request_parser_(http::HeadParser::request(kLimits)),
      response_parser_(http::HeadParser::response(kLimits, "GET")) {}

HttpSession::~HttpSession() {
  client_in_.release_all(worker_.buffers());
  client_out_.release_all(worker_.buffers());
  if (client_fd_ >= 0) ::close(client_fd_);
}

void HttpSession::start() {
  int one = 1;
  setsockopt(client_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint16_t port = 0;
  peer_ip(client_fd_, client_ip_, sizeof client_ip_, &port);
  if (worker_.access_log_enabled())
    format_address(client_ip_, port, client_address_, sizeof client_address_);
  touch();
  worker_.timers(kHeaderTimeoutMs).start(header_timer_, worker_.now_ms());
  arm_receive();
}

// ---------------------------------------------------------------- client I/O

void HttpSession::submit(io_uring_sqe* sqe, unsigned op) {
  io_uring_sqe_set_data64(sqe, tag(this, op));
  ++in_flight_;
}

void HttpSession::touch() {
  listener_->idle_timers.start(idle_timer, worker_.now_ms());
}

void HttpSession::arm_receive() {
  if (closing_ || client_in_.receiving || client_in_.eof || client_in_.waiting_buffers) return;
  io_uring_sqe* sqe = worker_.ring().sqe();
  Pipe::prep_receive(sqe, client_fd_);
  submit(sqe, kReceive);
  client_in_.receiving = true;
}

void HttpSession::on_receive(int result, unsigned flags) {
  const bool more = flags & IORING_CQE_F_MORE;
  client_in_.take_receive(worker_.buffers(), result, flags, !closing_ && !lingering_);
  if (result > 0) listener_counters->bytes_received.add(static_cast<uint64_t>(result));
  if (closing_) return;
  if (result > 0) {
    touch();
    if (!more) arm_receive();
    pump();
    return;
  }
  if (result == 0) {
    client_in_.eof = true;
    if (lingering_) {
      abort();
      return;
    }
    pump();
    return;
  }
  switch (-result) {
    case ENOBUFS:
      client_in_.waiting_buffers = true;
      worker_.wait_for_buffers(this);
      return;
    case ECANCELED:  // our own pause
      pump();
      return;
    default:
      abort();
  }
}

void HttpSession::send_to_client() {
  if (closing_ || client_out_.sending || client_out_.empty()) return;
  msghdr* msg = client_out_.prepare_send(worker_.buffers());
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_sendmsg(sqe, client_fd_, msg, MSG_NOSIGNAL);
  submit(sqe, kSend);
  client_out_.sending = true;
}

void HttpSession::on_send(int result) {
  client_out_.sending = false;
  if (result > 0) listener_counters->bytes_sent.add(static_cast<uint64_t>(result));
  if (closing_) return;
  if (result < 0) {
    abort();
    return;
  }
  client_out_.consume(static_cast<size_t>(result), worker_.buffers());
  touch();
  pump();
}

void HttpSession::on_buffers_available() {
  client_in_.waiting_buffers = false;
  pump();
}

void HttpSession::on_completion(unsigned op, int result, unsigned flags) {
  if (!(flags & IORING_CQE_F_MORE)) --in_flight_;
  in_callback_ = true;
  if (op == kReceive) {
    on_receive(result, flags);
  } else {
    on_send(result);
  }
  in_callback_ = false;
  if (closing_ && in_flight_ == 0) worker_.session_ended(this);
}

// ---------------------------------------------------------------- the pump

void HttpSession::pump() {
  // Callbacks from the upstream connection can land while we are pumping.
  if (closing_ || pumping_) return;
  pumping_ = true;
  // A finished response can unblock a pipelined request already received, and a
  // new request can meet a response already waiting: go round until nothing moves.
  for (int round = 0; round < 64 && !closing_; ++round) {
    const auto before = std::make_tuple(client_in_.queued_bytes(), request_state_, response_state_,
                                        upstream_, upstream_ ? upstream_->in.queued_bytes() : 0);
    read_requests();
    if (!closing_) read_responses();
    if (before == std::make_tuple(client_in_.queued_bytes(), request_state_, response_state_,
                                  upstream_, upstream_ ? upstream_->in.queued_bytes() : 0))
      break;
  }
  if (!closing_) send_to_client();
  if (upstream_ != nullptr) upstream_->flush();
  if (!closing_ && request_state_ == RequestState::tunnel) finish_tunnel();
  if (!closing_) adjust_backpressure();
  pumping_ = false;
  if (closing_) {
    // abort() inside the pump left the ending to us (an upstream callback or a
    // timer got us here, so no completion of ours will).
    if (in_flight_ == 0 && !in_callback_) worker_.session_ended(this);
    return;
  }
  if (close_after_flush_ && client_out_.empty() && !client_out_.sending && !lingering_) {
    // Everything is sent: half-close, then drain late client bytes briefly.
    ::shutdown(client_fd_, SHUT_WR);
    lingering_ = true;
    client_in_.release_all(worker_.buffers());
    TimerList::stop(request_timer_);
    worker_.timers(kLingerMs).start(header_timer_, worker_.now_ms());
    if (client_in_.eof)
      abort();
    else
      arm_receive();
  }
}

bool HttpSession::finish_tunnel() {
  // Half-closes travel like in the L4 relay: each side's FIN is forwarded once
  // the bytes before it are sent, and the tunnel ends when both have been.
  if (upstream_ == nullptr) {
    abort();
    return true;
  }
  if (upstream_->in.eof && upstream_->in.empty() && client_out_.empty() && !client_out_.sending &&
      !client_out_.shut) {
    ::shutdown(client_fd_, SHUT_WR);
    client_out_.shut = true;
  }
  if (client_out_.shut && upstream_->out.shut) {
    abort();
    return true;
  }
  return false;
}

void HttpSession::adjust_backpressure() {
  // Client side: stop reading while unparsed or unsent request bytes pile up;
  // a lingering connection reads (and drops) until the client's EOF.
  const size_t towards_upstream =
      client_in_.queued_bytes() + (upstream_ ? upstream_->out.queued_bytes() : 0);
  if (lingering_) {
    arm_receive();
  } else if (towards_upstream > Pipe::kHighWater || close_after_flush_) {
    if (client_in_.receiving && !client_in_.pausing && !lingering_) {
      io_uring_sqe* sqe = worker_.ring().sqe();
      io_uring_prep_cancel64(sqe, tag(this, kReceive), 0);
      io_uring_sqe_set_data64(sqe, 0);
      client_in_.pausing = true;
    }
  } else if (towards_upstream <= Pipe::kLowWater) {
    arm_receive();
  }
  // Upstream side: stop reading while the client is slow to take the response.
  if (upstream_ != nullptr) {
    if (client_out_.queued_bytes() > Pipe::kHighWater) {
      upstream_->pause_receive();
    } else if (client_out_.queued_bytes() <= Pipe::kLowWater) {
      upstream_->resume_receive();
    }
  }
}

void HttpSession::read_requests() {
  while (!client_in_.empty() && !closing_ && !close_after_flush_) {
    std::string_view bytes = client_in_.front(worker_.buffers());
    size_t used = 0;
    switch (request_state_) {
      case RequestState::head: {
        if (!request_started_) {
          request_started_ = true;
          begin_exchange();
          worker_.timers(kHeaderTimeoutMs).start(header_timer_, worker_.now_ms());
        }
        http::Status status = request_parser_.feed(bytes, used);
        if (status == http::Status::need_more) {
          client_in_.consume(bytes.size(), worker_.buffers());
          continue;
        }
        if (status == http::Status::error) {
          const http::Error& e = request_parser_.error();
          respond_error(e.status, e.code);
          return;
        }
        client_in_.consume(used, worker_.buffers());
        on_request_head();
        continue;
      }
      case RequestState::body: {
        // Leave the bytes here while the upstream is not taking them.
        if (upstream_ != nullptr && upstream_->out.queued_bytes() > Pipe::kHighWater) return;
        http::Status status = request_body_.feed(bytes, used);
        if (status == http::Status::error) {
          respond_error(request_body_.error().status, request_body_.error().code);
          return;
        }
        if (status == http::Status::need_more) used = bytes.size();
        if (route_ != nullptr && route_->max_request_body != 0 &&
            request_body_.body_bytes() > route_->max_request_body) {
          // Too late for a clean 413 once the upstream has answered; then just close.
          if (response_seen_) {
            abort();
          } else {
            respond_error(413, "body-too-large");
          }
          return;
        }
        if (!discard_body_ && upstream_ != nullptr)
          upstream_->out.push_slice(worker_.buffers(), client_in_.front_buffer(),
                                    client_in_.front_offset(), static_cast<uint32_t>(used));
        client_in_.consume(used, worker_.buffers());
        if (status == http::Status::done) {
          request_state_ = RequestState::done;
          if (response_state_ == ResponseState::none) finish_response();
        }
        continue;
      }
      case RequestState::done:
        return;  // a pipelined request waits for the response before it
      case RequestState::tunnel:
        if (upstream_ == nullptr) return;
        upstream_->out.push_slice(worker_.buffers(), client_in_.front_buffer(),
                                  client_in_.front_offset(), static_cast<uint32_t>(bytes.size()));
        client_in_.consume(bytes.size(), worker_.buffers());
        continue;
    }
  }
  if (!client_in_.eof || closing_ || close_after_flush_) return;
  switch (request_state_) {
    case RequestState::head:
      // A client that closes between requests is done; one mid-head is gone.
      if (response_state_ == ResponseState::none) abort();
      break;
    case RequestState::body:
      abort();  // the request cannot be completed
      break;
    case RequestState::done:
      client_keep_alive_ = false;  // answer this one, then close
      break;
    case RequestState::tunnel:
      if (upstream_ != nullptr) upstream_->shutdown_when_flushed();
      break;
  }
}

// ---------------------------------------------------------------- requests

void HttpSession::on_request_head() {
  TimerList::stop(header_timer_);
  const http::Head& head = request_parser_.head();
  exchange_.has_head = true;
  // The client's id, for the access log even when sluice answers itself; one
  // is made up only for requests that go upstream (dispatch).
  if (const http::Header* id = head.find("x-request-id")) request_id_.assign(id->value);
  method_.assign(head.method);
  client_keep_alive_ = head.keep_alive && !listener_removed_;
  request_body_.reset(head, kLimits);
  request_state_ = head.has_body() ? RequestState::body : RequestState::done;
  discard_body_ = false;
  response_seen_ = false;
  stale_retried_ = false;
  avoid_pool_ = false;
  tried_ = 0;

  const auto& routes = listener_->runtime.config->routes;
  route_ = http::match_route(routes, head);
  if (route_ == nullptr) {
    respond_error(404, "no-route", {}, {}, true);
    return;
  }
  const size_t index = static_cast<size_t>(route_ - routes.data());
  // A declared length over the route's limit is refused before anything moves;
  // a chunked body is measured as it streams (read_requests).
  if (route_->max_request_body != 0 && head.framing == http::Framing::content_length &&
      head.content_length > route_->max_request_body) {
    respond_error(413, "body-too-large");
    return;
  }
  // The listener's limit counts every request on it, then the route's its own.
  if (const RateLimitRuntime* limit = listener_->runtime.rate_limit;
      limit != nullptr && !admit(*limit, index)) {
    return;
  }
  if (const RateLimitRuntime* limit = listener_->runtime.route_rate_limits[index];
      limit != nullptr && !admit(*limit, index)) {
    return;
  }
  cluster_ = listener_->runtime.route_clusters[index];
  if (cluster_ != nullptr && cluster_->needs_key)
    key_ = request_key(cluster_->config->balancer.key, head, client_ip_);
  if (route_->direct_response) {
    discard_body_ = true;
    std::string out;
    http::direct_response(route_->direct_response->status, route_->direct_response->body,
                          client_keep_alive_, out, method_ == "HEAD");
    client_out_.push_owned(std::move(out));
    note_response(route_->direct_response->status);
    response_state_ = ResponseState::none;
    if (request_state_ == RequestState::done) finish_response();
    return;
  }
  // Cluster-level admission: in-flight cap, then the circuit breaker.
  if (cluster_->limits) {
    request_permit_ = limiter::ConcurrencyPermit::try_acquire(cluster_->limits->requests);
    if (!request_permit_) {
      respond_error(503, "cluster-max-requests", {}, {}, true);
      return;
    }
  }
  if (!breaker_.begin(*cluster_, Worker::now_ns())) {
    request_permit_.reset();
    exchange_.breaker = access_log::BreakerOutcome::rejected;
    respond_error(503, "circuit-open", {}, {}, true);
    return;
  }
  if (cluster_->breaker) exchange_.breaker = access_log::BreakerOutcome::allowed;
  attempts_left_ = 1 + route_->retries.attempts;
  if (request_id_.empty()) request_id_ = next_request_id(worker_.index());
  // Body bytes that came with the head are checked before anything goes
  // upstream, so bad chunk framing in one write never reaches an endpoint.
  if (request_state_ == RequestState::body && !body_framing_ok()) return;
  worker_.timers(static_cast<uint64_t>(route_->timeouts.request.count()))
      .start(request_timer_, worker_.now_ms());
  dispatch();
}

bool HttpSession::body_framing_ok() {
  http::BodyScanner probe = request_body_;
  http::Status status = http::Status::need_more;
  client_in_.for_each_chunk(worker_.buffers(), [&](std::string_view bytes) {
    size_t used = 0;
    status = probe.feed(bytes, used);
    return status == http::Status::need_more;
  });
  if (status != http::Status::error) return true;
  breaker_.cancel();
  request_permit_.reset();
  respond_error(probe.error().status, probe.error().code);
  return false;
}

bool HttpSession::admit(const RateLimitRuntime& limit, size_t route_index) {
  const limiter::Decision d =
      limit.admit(limit_key(limit.config->key, &request_parser_.head(), client_ip_,
                            listener_->runtime.route_keys[route_index]),
                  Worker::now_ns());
  metrics::RateLimitCounters& counters = limit.stats->per_worker.at(worker_.index());
  if (d.admitted) {
    counters.admitted.add();
    exchange_.limit = access_log::LimitOutcome::admitted;
    return true;
  }
  counters.limited.add();
  exchange_.limit = access_log::LimitOutcome::limited;
  // IETF httpapi ratelimit headers (structured-field form) plus Retry-After in
  // whole seconds, rounded up so a client that obeys it is admitted.
  constexpr int64_t kSecond = 1000000000;
  const int64_t retry_s = d.retry_after < 0 ? 3600 : (d.retry_after + kSecond - 1) / kSecond;
  const int64_t reset_s = (d.reset + kSecond - 1) / kSecond;
  std::string headers = "Retry-After: " + std::to_string(retry_s) +
                        "\r\nRateLimit-Policy: " + limit.policy + "\r\nRateLimit: \"" +
                        limit.config->name + "\";r=" + std::to_string(d.remaining) +
                        ";t=" + std::to_string(reset_s) + "\r\n";
  respond_error(429, "rate-limited", {}, headers, true);
  return false;
}

void HttpSession::respond_error(int status, std::string_view code, std::string_view body,
                                std::string_view extra_headers, bool keep_alive) {
  LOG_DEBUG("listener %s: %d %s", listener_->runtime.config->name.c_str(), status,
            std::string(code).c_str());
  release_upstream(false);
  response_state_ = ResponseState::none;
  keep_alive = keep_alive && client_keep_alive_;
  std::string out;
  http::error_response(status, code, keep_alive, out, body, extra_headers, method_ == "HEAD");
  client_out_.push_owned(std::move(out));
  note_response(status, code);
  if (!keep_alive) {
    end_exchange();  // not after the lingering close
    close_after_flush();
    return;
  }
  // The request was well framed: skip its body and carry on with the next one.
  discard_body_ = true;
  if (request_state_ == RequestState::done) finish_response();
}

void HttpSession::close_after_flush() {
  close_after_flush_ = true;
  client_keep_alive_ = false;
}

// ---------------------------------------------------------------- timers, end

void HttpSession::on_timer(int kind) {
  if (closing_) return;
  switch (kind) {
    case kIdleTimer:
      if (response_state_ != ResponseState::none && !lingering_) {
        touch();  // waiting on the upstream is the request timeout's business
        return;
      }
      abort();
      return;
    case kHeaderTimer:
      if (lingering_ || !request_started_) {
        abort();
        return;
      }
      respond_error(408, "header-timeout");
      pump();
      return;
    case kRequestTimer:
      if (response_state_ == ResponseState::head && !response_seen_) {
        release_upstream(false);
        breaker_.failed(Worker::now_ns());
        if (metrics::ClusterCounters* c = cluster_counters()) c->timeouts.add();
        respond_error(504, "upstream-timeout");
        pump();
        return;
      }
      abort();
      return;
  }
}

void HttpSession::drain() {
  // Idle between requests: nothing to finish. Otherwise the current response
  // goes out with Connection: close and the connection ends after it.
  if (request_state_ == RequestState::head && !request_started_ &&
      response_state_ == ResponseState::none && client_out_.empty()) {
    abort();
    return;
  }
  client_keep_alive_ = false;
  if (request_state_ == RequestState::head && response_state_ == ResponseState::none)
    close_after_flush();
  pump();
}

void HttpSession::abort() {
  if (closing_) return;
  closing_ = true;
  TimerList::stop(idle_timer);
  TimerList::stop(header_timer_);
  TimerList::stop(request_timer_);
  if (client_in_.waiting_buffers) worker_.forget_waiting(this);
  release_upstream(false);
  end_exchange();
  breaker_.cancel();
  request_permit_.reset();
  pending_permit_.reset();
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_cancel_fd(sqe, client_fd_, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, 0);
  // Not while a completion of ours or a pump is still using this object: they
  // end it on their way out.
  if (in_flight_ == 0 && !in_callback_ && !pumping_) worker_.session_ended(this);
}

}  // namespace sluice::proxy
