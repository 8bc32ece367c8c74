#include "proxy/http_session.hpp"

#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "proxy/http/route.hpp"
#include "proxy/http/serialize.hpp"
#include "proxy/log.hpp"
#include "proxy/outcome.hpp"
#include "proxy/request_id.hpp"
#include "proxy/request_key.hpp"
#include "proxy/socket.hpp"
#include "proxy/worker.hpp"

namespace sluice::proxy {
namespace {

// A request head must arrive whole within this long (slowloris); a closing
// connection drains the client's late bytes for at most kLingerMs so that our
// final response is not destroyed by a reset.
constexpr uint64_t kHeaderTimeoutMs = 10000;
constexpr uint64_t kLingerMs = 2000;

const http::Limits kLimits{};

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

}  // namespace

HttpSession::HttpSession(Worker& worker, WorkerListener& listener, int client_fd)
    : worker_(worker),
      listener_(listener),
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
  peer_ip(client_fd_, client_ip_, sizeof client_ip_);
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
  listener_.idle_timers.start(idle_timer, worker_.now_ms());
}

void HttpSession::arm_receive() {
  if (closing_ || client_in_.receiving || client_in_.eof || client_in_.waiting_buffers) return;
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_recv_multishot(sqe, client_fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BufferRing::kGroup;
  submit(sqe, kReceive);
  client_in_.receiving = true;
}

void HttpSession::on_receive(int result, unsigned flags) {
  const bool more = flags & IORING_CQE_F_MORE;
  if (!more) {
    client_in_.receiving = false;
    client_in_.pausing = false;
  }
  if (flags & IORING_CQE_F_BUFFER) {
    const auto buffer = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    worker_.buffers().on_received(buffer);
    // A lingering connection only drains what the client still sends.
    if (closing_ || lingering_ || result <= 0) {
      worker_.buffers().release(buffer);
    } else {
      client_in_.push(buffer, static_cast<uint32_t>(result));
    }
  }
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
  if (closing_) return;
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
  // Client side: stop reading while unparsed or unsent request bytes pile up.
  const size_t towards_upstream =
      client_in_.queued_bytes() + (upstream_ ? upstream_->out.queued_bytes() : 0);
  if (towards_upstream > Pipe::kHighWater || close_after_flush_) {
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
  method_.assign(head.method);
  client_keep_alive_ = head.keep_alive;
  request_body_.reset(head, kLimits);
  request_state_ = head.has_body() ? RequestState::body : RequestState::done;
  discard_body_ = false;
  response_seen_ = false;
  stale_retried_ = false;
  avoid_pool_ = false;
  tried_ = 0;

  const auto& routes = listener_.runtime.config->routes;
  route_ = http::match_route(routes, head);
  if (route_ == nullptr) {
    respond_error(404, "no-route", {}, {}, true);
    return;
  }
  const size_t index = static_cast<size_t>(route_ - routes.data());
  // The listener's limit counts every request on it, then the route's its own.
  if (const RateLimitRuntime* limit = listener_.runtime.rate_limit;
      limit != nullptr && !admit(*limit, index)) {
    return;
  }
  if (const RateLimitRuntime* limit = listener_.runtime.route_rate_limits[index];
      limit != nullptr && !admit(*limit, index)) {
    return;
  }
  cluster_ = listener_.runtime.route_clusters[index];
  if (cluster_ != nullptr && cluster_->needs_key)
    key_ = request_key(cluster_->config->balancer.key, head, client_ip_);
  if (route_->direct_response) {
    discard_body_ = true;
    std::string out;
    http::direct_response(route_->direct_response->status, route_->direct_response->body,
                          client_keep_alive_, out);
    client_out_.push_owned(std::move(out));
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
    respond_error(503, "circuit-open", {}, {}, true);
    return;
  }
  attempts_left_ = 1 + route_->retries.attempts;
  const http::Header* id = head.find("x-request-id");
  request_id_ = id != nullptr ? std::string(id->value) : next_request_id(worker_.index());
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
      limit.admit(limit_key(limit.config->key, &request_parser_.head(), client_ip_, route_index),
                  Worker::now_ns());
  if (d.admitted) return true;
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

void HttpSession::dispatch() {
  // A pooled connection first: no handshake, and it keeps the pool warm.
  response_state_ = ResponseState::head;
  response_parser_.reset(method_);
  if (!connect_upstream()) return;
  std::string out;
  http::ForwardContext ctx;
  ctx.client_ip = client_ip_;
  ctx.request_id = request_id_;
  ctx.upgrade = request_parser_.head().upgrade;
  http::serialize_request(request_parser_.head(), ctx, out);
  // Queued, not sent: the pump flushes once it has scanned the body bytes that
  // came with the head, so a request with bad framing is never forwarded.
  upstream_->out.push_owned(std::move(out));
}

bool HttpSession::connect_upstream() {
  std::optional<uint32_t> endpoint = worker_.pick_endpoint(*cluster_, key_, tried_);
  if (!endpoint) {
    // Every endpoint failed this request: the cluster did. None at all (all
    // ejected, none configured) says nothing about the endpoints' health.
    if (tried_ != 0) {
      breaker_.failed(Worker::now_ns());
    } else {
      breaker_.cancel();
    }
    respond_error(503, tried_ == 0 ? "no-endpoint" : "connect-failed");
    return false;
  }
  if (*endpoint < 64) tried_ |= uint64_t{1} << *endpoint;
  --attempts_left_;
  load_.begin(*cluster_, *endpoint);
  if (cluster_->tracks_latency) dispatched_ns_ = Worker::now_ns();
  endpoint_ = *endpoint;
  upstream_ = avoid_pool_ ? nullptr : worker_.take_pooled(*cluster_, *endpoint);
  upstream_reused_ = upstream_ != nullptr;
  if (upstream_ != nullptr) {
    upstream_->set_owner(this);
    return true;
  }
  limiter::ConcurrencyPermit connection;
  if (cluster_->limits) {
    // A new connection counts against max_connections for its life and against
    // max_pending until the handshake is done.
    pending_permit_ = limiter::ConcurrencyPermit::try_acquire(cluster_->limits->pending);
    if (pending_permit_)
      connection = limiter::ConcurrencyPermit::try_acquire(cluster_->limits->connections);
    if (!connection) {
      const bool pending_full = !pending_permit_;
      pending_permit_.reset();
      breaker_.cancel();
      respond_error(503, pending_full ? "cluster-max-pending" : "cluster-max-connections", {}, {},
                    true);
      return false;
    }
  }
  upstream_ = new UpstreamConnection(worker_, *cluster_, *endpoint, std::move(connection));
  upstream_->set_owner(this);
  const int error =
      upstream_->connect(cluster_->config->endpoints[*endpoint].address, route_->timeouts.connect);
  if (error < 0) {
    LOG_ERROR_THROTTLED("cannot create upstream socket: %s", std::strerror(-error));
    respond_error(502, "connect-failed");  // releases the connection
    return false;
  }
  return true;
}

bool HttpSession::retry_stale() {
  // A pooled connection the endpoint had already closed (the keep-alive race):
  // an idempotent request without body that got no byte back is safe to send
  // again (RFC 9112 9.3.1), to the same endpoint on a new connection, once,
  // without spending a configured retry.
  if (!upstream_reused_ || stale_retried_ || response_seen_ || request_parser_.head().has_body() ||
      !idempotent(method_))
    return false;
  stale_retried_ = true;
  avoid_pool_ = true;
  if (endpoint_ < 64) tried_ &= ~(uint64_t{1} << endpoint_);
  ++attempts_left_;
  LOG_DEBUG("retrying %s request on a new connection: pooled one was closed", method_.c_str());
  release_upstream(false);
  dispatch();
  return true;
}

bool HttpSession::retry(const char* why) {
  // Only requests that can be sent again whole (idempotent, no body), and only
  // when some endpoint is left to try; otherwise the response we have stands.
  const size_t endpoints = cluster_->config->endpoints.size();
  const bool untried_left =
      endpoints > 64 || static_cast<size_t>(std::popcount(tried_)) < endpoints;
  if (attempts_left_ <= 0 || !untried_left || response_seen_ || request_parser_.head().has_body() ||
      !idempotent(method_))
    return false;
  LOG_DEBUG("retrying %s request on another endpoint: %s", method_.c_str(), why);
  release_upstream(false);
  dispatch();
  return true;
}

void HttpSession::on_upstream_connected(int result) {
  pending_permit_.reset();
  if (result == 0 || closing_) return;
  report_endpoint(*cluster_, upstream_->endpoint, EndpointResult::connect_failure,
                  Worker::now_ns());
  const config::Cluster& cluster = *cluster_->config;
  LOG_DEBUG("cluster %s: endpoint %s failed: %s", cluster.name.c_str(),
            cluster.endpoints[upstream_->endpoint].address.text.c_str(), std::strerror(-result));
  // Nothing reached the endpoint, so any request can move to the next one. The
  // failed connection closes itself when we return.
  UpstreamConnection* failed = upstream_;
  upstream_ = nullptr;
  if (attempts_left_ > 0 && route_->retries.on_connect_failure) {
    Pipe unsent;
    unsent.swap(failed->out);
    response_state_ = ResponseState::head;
    if (!connect_upstream()) {
      unsent.release_all(worker_.buffers());
      pump();
      return;
    }
    upstream_->out.swap(unsent);
    unsent.release_all(worker_.buffers());
    pump();
    return;
  }
  breaker_.failed(Worker::now_ns());
  respond_error(result == -ETIMEDOUT ? 504 : 502,
                result == -ETIMEDOUT ? "connect-timeout" : "connect-failed");
  pump();  // we are in the upstream's callback: nothing else will send it
}

void HttpSession::on_upstream_input() {
  pump();
}
void HttpSession::on_upstream_sent() {
  pump();
}

void HttpSession::on_upstream_error(int error) {
  // The connection has closed itself; whatever it held is gone.
  upstream_ = nullptr;
  LOG_DEBUG("listener %s: upstream connection failed: %s", listener_.runtime.config->name.c_str(),
            std::strerror(-error));
  if (closing_) return;
  if (response_state_ == ResponseState::head && !response_seen_) {
    if (retry_stale()) {
      pump();
      return;
    }
    if (route_->retries.on_connect_failure) {
      if (retry("upstream reset")) {
        pump();
        return;
      }
    }
    breaker_.failed(Worker::now_ns());
    respond_error(502, "upstream-reset");
    pump();  // we are in the upstream's callback: nothing else will send it
    return;
  }
  abort();  // mid-response or mid-tunnel: the client cannot be told more
}

// ---------------------------------------------------------------- responses

void HttpSession::read_responses() {
  while (upstream_ != nullptr && !upstream_->in.empty() && !closing_) {
    if (response_state_ == ResponseState::none) {
      // Bytes nobody asked for: this connection cannot be trusted any more.
      release_upstream(false);
      return;
    }
    if (client_out_.queued_bytes() > Pipe::kHighWater) return;
    std::string_view bytes = upstream_->in.front(worker_.buffers());
    size_t used = 0;
    if (response_state_ == ResponseState::head) {
      http::Status status = response_parser_.feed(bytes, used);
      if (status == http::Status::need_more) {
        upstream_->in.consume(bytes.size(), worker_.buffers());
        continue;
      }
      if (status == http::Status::error) {
        LOG_DEBUG("bad response from upstream: %s",
                  std::string(response_parser_.error().detail).c_str());
        release_upstream(false);
        breaker_.failed(Worker::now_ns());
        respond_error(502, "bad-response");
        return;
      }
      upstream_->in.consume(used, worker_.buffers());
      on_response_head();
      continue;
    }
    http::Status status = http::Status::need_more;
    if (response_state_ == ResponseState::body) {
      // forward_payload() needs to know where this input lives.
      payload_buffer_ = upstream_->in.front_buffer();
      payload_offset_ = upstream_->in.front_offset();
      status = response_body_.feed(bytes, used);
      if (status == http::Status::error) {
        abort();
        return;
      }
    }
    if (status == http::Status::need_more) used = bytes.size();
    if (!dechunk_ || response_state_ != ResponseState::body)
      client_out_.push_slice(worker_.buffers(), upstream_->in.front_buffer(),
                             upstream_->in.front_offset(), static_cast<uint32_t>(used));
    upstream_->in.consume(used, worker_.buffers());
    if (status == http::Status::done) finish_response();
  }
  if (upstream_ == nullptr || !upstream_->in.eof || !upstream_->in.empty() || closing_) return;
  switch (response_state_) {
    case ResponseState::head:
      if (!retry_stale() && !retry("upstream closed")) {
        release_upstream(false);
        breaker_.failed(Worker::now_ns());
        respond_error(502, "upstream-closed");
      }
      break;
    case ResponseState::body:
      if (response_body_.eof() == http::Status::done) {
        finish_response();
      } else {
        abort();  // truncated body: the client must see the connection end
      }
      break;
    case ResponseState::tunnel:
      break;  // the FIN goes on to the client once its bytes are out (pump)
    case ResponseState::none:
      release_upstream(false);
      break;
  }
}

void HttpSession::on_response_head() {
  const http::Head& head = response_parser_.head();
  std::string out;
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    // 100 Continue and friends go straight through; the final response follows.
    http::serialize_response(head, true, out);
    client_out_.push_owned(std::move(out));
    response_parser_.reset(method_);
    return;
  }
  if (head.status == 101) {
    if (!request_parser_.head().upgrade) {
      release_upstream(false);
      respond_error(502, "unexpected-upgrade");
      return;
    }
    http::serialize_response(head, true, out);
    client_out_.push_owned(std::move(out));
    response_seen_ = true;
    TimerList::stop(request_timer_);
    response_state_ = ResponseState::tunnel;
    request_state_ = RequestState::tunnel;
    return;
  }
  // The endpoint's answer counts for passive health whether or not it is retried.
  const int64_t now = Worker::now_ns();
  const bool server_error = head.status >= 500;
  report_endpoint(*cluster_, upstream_->endpoint,
                  server_error ? EndpointResult::server_error : EndpointResult::ok, now);
  if (!route_->retries.on_status.empty() &&
      std::find(route_->retries.on_status.begin(), route_->retries.on_status.end(), head.status) !=
          route_->retries.on_status.end()) {
    if (retry("retryable status")) return;
  }
  response_seen_ = true;
  if (server_error) {
    breaker_.failed(now);
  } else {
    breaker_.succeeded(now);
  }
  if (cluster_->tracks_latency) {
    balancers::observe_latency(*load_.load(), now - dispatched_ns_, now, cluster_->ewma_tau_ns);
  }
  response_until_close_ = head.framing == http::Framing::until_close;
  response_keep_alive_ = head.keep_alive && !response_until_close_;
  // An HTTP/1.0 client cannot read chunked coding: it gets the payload alone,
  // delimited by the close.
  dechunk_ = request_parser_.head().version == 10 && head.framing == http::Framing::chunked;
  if (response_until_close_ || dechunk_) client_keep_alive_ = false;
  http::serialize_response(head, client_keep_alive_, out, dechunk_);
  client_out_.push_owned(std::move(out));
  response_body_.reset(head, kLimits);
  response_body_.set_payload_sink(dechunk_ ? &HttpSession::forward_payload : nullptr, this);
  response_state_ = ResponseState::body;
  if (!head.has_body()) finish_response();
}

void HttpSession::forward_payload(void* context, size_t offset, size_t length) {
  auto* self = static_cast<HttpSession*>(context);
  self->client_out_.push_slice(self->worker_.buffers(), self->payload_buffer_,
                               self->payload_offset_ + static_cast<uint32_t>(offset),
                               static_cast<uint32_t>(length));
}

void HttpSession::finish_response() {
  TimerList::stop(request_timer_);
  request_permit_.reset();
  if (response_state_ != ResponseState::none) {
    // Reusable only when the exchange ended cleanly on both sides.
    release_upstream(response_keep_alive_ && request_state_ == RequestState::done &&
                     upstream_ != nullptr && upstream_->in.empty() && upstream_->out.empty());
  }
  response_state_ = ResponseState::none;
  if (request_state_ != RequestState::done) {
    // The response ended before the request body: the rest of it has nowhere to go.
    close_after_flush();
    return;
  }
  if (!client_keep_alive_) {
    close_after_flush();
    return;
  }
  request_state_ = RequestState::head;
  request_started_ = false;
  request_parser_.reset();
  // The next pipelined request, if any, is parsed by the pump that called us.
}

void HttpSession::release_upstream(bool reusable) {
  load_.end();
  UpstreamConnection* c = upstream_;
  if (c == nullptr) return;
  upstream_ = nullptr;
  ++c->requests;
  if (!(reusable && worker_.pool(c))) {
    c->set_owner(nullptr);
    c->close();
  }
}

void HttpSession::respond_error(int status, std::string_view code, std::string_view body,
                                std::string_view extra_headers, bool keep_alive) {
  LOG_DEBUG("listener %s: %d %s", listener_.runtime.config->name.c_str(), status,
            std::string(code).c_str());
  release_upstream(false);
  response_state_ = ResponseState::none;
  keep_alive = keep_alive && client_keep_alive_;
  std::string out;
  http::error_response(status, code, keep_alive, out, body, extra_headers);
  client_out_.push_owned(std::move(out));
  if (!keep_alive) {
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
  breaker_.cancel();
  request_permit_.reset();
  pending_permit_.reset();
  io_uring_sqe* sqe = worker_.ring().sqe();
  io_uring_prep_cancel_fd(sqe, client_fd_, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, 0);
  if (in_flight_ == 0 && !in_callback_) worker_.session_ended(this);
}

}  // namespace sluice::proxy
