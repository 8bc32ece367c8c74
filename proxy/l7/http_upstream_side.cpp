// The upstream half of HttpSession: sending a routed request to an endpoint
// (pool or new connection, retries), reading its response back to the client,
// and ending the exchange. The client half is in http_session.cpp.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "proxy/l7/h1/serialize.hpp"
#include "proxy/l7/http_session.hpp"
#include "proxy/core/log.hpp"
#include "proxy/upstream/outcome.hpp"
#include "proxy/worker/worker.hpp"

namespace sluice::proxy {
namespace {

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

}  // namespace

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
  std::optional<uint32_t> endpoint = worker_.pick_endpoint(*generation, *cluster_, key_, tried_);
  if (!endpoint) {
    // Every endpoint failed this request: the cluster did. None at all (all
    // ejected, none configured) says nothing about the endpoints' health.
    if (tried_ != 0) {
      breaker_.failed(Worker::now_ns());
    } else {
      breaker_.cancel();
    }
    if (tried_ == 0) {
      respond_error(503, "no-endpoint");
    } else {
      respond_error(502, "connect-failed");
    }
    return false;
  }
  if (*endpoint < 64) tried_ |= uint64_t{1} << *endpoint;
  note_dispatch(exchange_.dispatched);
  --attempts_left_;
  load_.begin(*cluster_, *endpoint);
  endpoint_ = *endpoint;
  upstream_ = avoid_pool_ ? nullptr : worker_.take_pooled(*generation, *cluster_, *endpoint);
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
  upstream_ =
      new UpstreamConnection(worker_, *generation, *cluster_, *endpoint, std::move(connection));
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
  cluster_counters()->connect_failures.add();
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
  LOG_DEBUG("listener %s: upstream connection failed: %s", listener_->runtime.config->name.c_str(),
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
  const int64_t now = Worker::now_ns();
  note_upstream_head(head.status, now);
  if (head.status == 101) {
    if (!request_parser_.head().upgrade) {
      release_upstream(false);
      respond_error(502, "unexpected-upgrade");
      return;
    }
    http::serialize_response(head, true, out);
    client_out_.push_owned(std::move(out));
    note_response(101);
    response_seen_ = true;
    TimerList::stop(request_timer_);
    response_state_ = ResponseState::tunnel;
    request_state_ = RequestState::tunnel;
    return;
  }
  // The endpoint's answer counts for passive health whether or not it is retried.
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
  note_response(head.status);
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
  end_exchange();
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
  method_.clear();  // a parse error on the next request must not see this one's
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

}  // namespace sluice::proxy
