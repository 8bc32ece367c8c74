// The response side of an Exchange: reaching an endpoint (pooled or new
// connection, retries), reading its response back to the client, and ending
// the attempt. The request side is in exchange.cpp.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"
#include "proxy/l7/exchange.hpp"

#include "proxy/l7/body_probe.hpp"

namespace sluice::proxy {
namespace {

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

}  // namespace

bool Exchange::connect_upstream() {
  const ClusterRuntime& cluster = *request_.cluster;
  const Attempt::Dial dial = attempt_.dial(
      client_.host->pool(), client_.host->core(cluster), client_.host->worker_index(), this,
      request_.route->config->timeouts.connect, /*allow_pooled=*/true, client_.stream);
  switch (dial) {
    case Attempt::Dial::connecting:
    case Attempt::Dial::pooled:
      return true;
    case Attempt::Dial::no_endpoint:
      // None at all (all ejected, none configured) says nothing about the endpoints' health.
      breaker_.cancel();
      give_up(config::FallbackReason::no_endpoint, LocalResponse::error(503, "no-endpoint"));
      return false;
    case Attempt::Dial::exhausted:
      // Every endpoint failed this request: the cluster did.
      breaker_.failed(clock::monotonic_ns());
      give_up(config::FallbackReason::retries_exhausted,
              LocalResponse::error(502, attempt_.last_connect_failure() == kUpstreamTlsFailed
                                            ? "upstream-tls"
                                            : "connect-failed"));
      return false;
    case Attempt::Dial::max_pending:
    case Attempt::Dial::max_connections:
      breaker_.cancel();
      cluster_counters().refused_by(dial == Attempt::Dial::max_pending
                                        ? metrics::ClusterCap::max_pending
                                        : metrics::ClusterCap::max_connections);
      give_up(config::FallbackReason::cluster_limit,
              LocalResponse::error(503,
                                   dial == Attempt::Dial::max_pending ? "cluster-max-pending"
                                                                      : "cluster-max-connections",
                                   true));
      return false;
    case Attempt::Dial::no_socket:
      respond(LocalResponse::error(502, "connect-failed"));
      return false;
  }
  return false;
}

bool Exchange::retry_stale() {
  // A pooled connection the endpoint had already closed (the keep-alive race):
  // an idempotent request without body that got no byte back is safe to send
  // again (RFC 9112 9.3.1), once, on a new connection, without spending a
  // configured retry; the endpoint is eligible again (the balancer decides).
  if (!attempt_.reused() || flags_.stale_retried || flags_.response_seen ||
      request_.head->has_body() || !idempotent(request_.method))
    return false;
  flags_.stale_retried = true;
  attempt_.retry_same_endpoint();
  LOG_DEBUG("retrying %s request on a new connection: pooled one was closed",
            request_.method.c_str());
  release_upstream(false);
  dispatch();
  flush();
  return true;
}

bool Exchange::retry(const char* why) {
  // Only requests that can be sent again whole (idempotent, no body), and only
  // when some endpoint is left to try; otherwise the response we have stands.
  // Checking for an endpoint first keeps the last real answer (a 503, a reset)
  // when none is left, instead of a 502 for a connect that never happened.
  if (flags_.response_seen || request_.head->has_body() || !idempotent(request_.method) ||
      !attempt_.can_retry() || !retry_allowed())
    return false;
  LOG_DEBUG("retrying %s request on another endpoint: %s", request_.method.c_str(), why);
  release_upstream(false);
  if (start_backoff()) return true;
  dispatch();
  flush();
  return true;
}

void Exchange::on_upstream_connected(UpstreamConnection& failed, int result) {
  if (result == 0 || !flags_.active) return;
  // Nothing reached the endpoint, so any request can move to the next one. The
  // failed connection closes itself when we return.
  attempt_.connect_failed(result);
  if (attempt_.attempts_left() > 0 && request_.route->config->retries.on_connect_failure &&
      retry_allowed()) {
    response_.phase = Phase::head;
    if (start_backoff()) {
      // What was queued for the failed connection (the head, body bytes so far) waits too.
      flags_.resend_held = true;
      held_.swap(failed.out());
      return;
    }
    ChunkQueue unsent;
    unsent.swap(failed.out());
    if (connect_upstream()) upstream()->out().swap(unsent);
    unsent.release_all(client_.host->loop().buffers());
    flush();
    return;
  }
  breaker_.failed(clock::monotonic_ns());
  const char* reason = result == -ETIMEDOUT           ? "connect-timeout"
                       : result == kUpstreamTlsFailed ? "upstream-tls"
                                                      : "connect-failed";
  give_up(config::FallbackReason::retries_exhausted,
          LocalResponse::error(result == -ETIMEDOUT ? 504 : 502, reason));
}

void Exchange::on_upstream_sent(UpstreamConnection&) {
  sink_->on_request_drained();
}

void Exchange::on_upstream_input(UpstreamConnection&) {
  read_response();
}

void Exchange::on_upstream_error(UpstreamConnection&, int error) {
  attempt_.release();  // the connection has closed itself; whatever it held is gone
  LOG_DEBUG("listener %s: upstream connection failed: %s", client_.listener->config.name.c_str(),
            std::strerror(-error));
  if (!flags_.active) return;
  if (response_.phase == Phase::head && !flags_.response_seen) {
    if (retry_stale()) return;
    endpoint_failed();
    if (request_.route->config->retries.on_connect_failure && retry("upstream reset")) return;
    breaker_.failed(clock::monotonic_ns());
    give_up(config::FallbackReason::retries_exhausted, LocalResponse::error(502, "upstream-reset"));
    return;
  }
  if (response_.phase != Phase::none)
    sink_->on_exchange_failed();  // mid-response: the client cannot be told
}

void Exchange::on_client_drained() {
  if (UpstreamConnection* c = upstream()) c->stream().receive(true);
  read_response();
}

void Exchange::read_response() {
  BufferRing& buffers = client_.host->loop().buffers();
  for (UpstreamConnection* c = upstream(); c != nullptr && !c->in().empty() && flags_.active;
       c = upstream()) {
    if (response_.phase == Phase::none) {
      // Bytes nobody asked for: this connection cannot be trusted any more.
      release_upstream(false);
      return;
    }
    if (sink_->response_backlog() > ChunkQueue::kHighWater) {
      c->stream().receive(false);  // the client is slow: let the endpoint wait
      return;
    }
    ChunkQueue& in = c->in();
    std::string_view bytes = in.front(buffers);
    size_t used = 0;
    if (response_.phase == Phase::head) {
      const http::Status status = response_.parser.feed(bytes, used);
      if (status == http::Status::need_more) {
        in.consume(bytes.size(), buffers);
        continue;
      }
      if (status == http::Status::error) {
        LOG_DEBUG("bad response from upstream: %s",
                  std::string(response_.parser.error().detail).c_str());
        endpoint_failed();
        release_upstream(false);
        breaker_.failed(clock::monotonic_ns());
        give_up(config::FallbackReason::retries_exhausted,
                LocalResponse::error(502, "bad-response"));
        return;
      }
      in.consume(used, buffers);
      on_response_head();
      continue;
    }
    http::Status status = http::Status::need_more;
    if (response_.phase == Phase::body) {
      // forward_payload() needs to know where this input lives.
      response_.payload_buffer = in.front_buffer();
      response_.payload_offset = in.front_offset();
      status = response_.body.feed(bytes, used);
      if (status == http::Status::error) {
        sink_->on_exchange_failed();
        return;
      }
    }
    if (status == http::Status::need_more) used = bytes.size();
    if (!flags_.dechunk || response_.phase != Phase::body)
      sink_->on_response_body(in.front_buffer(), in.front_offset(), static_cast<uint32_t>(used));
    in.consume(used, buffers);
    if (status == http::Status::done) finish_response();
  }
  UpstreamConnection* c = upstream();
  if (c != nullptr && c->stream().eof() && c->in().empty() && flags_.active) on_response_eof();
}

void Exchange::on_response_eof() {
  switch (response_.phase) {
    case Phase::head:
      if (retry_stale()) return;
      endpoint_failed();
      if (!retry("upstream closed")) {
        release_upstream(false);
        breaker_.failed(clock::monotonic_ns());
        give_up(config::FallbackReason::retries_exhausted,
                LocalResponse::error(502, "upstream-closed"));
      }
      return;
    case Phase::body:
      if (response_.body.eof() == http::Status::done) {
        finish_response();
      } else {
        sink_->on_exchange_failed();  // truncated body: the client must see the connection end
      }
      return;
    case Phase::tunnel:
      sink_->on_response_end();  // the FIN goes on to the client once its bytes are out
      return;
    case Phase::none:
      release_upstream(false);
      return;
  }
}

void Exchange::on_response_head() {
  const http::Head& head = response_.parser.head();
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    // 100 Continue and friends go straight through; the final response follows.
    sink_->on_interim_response(head);
    response_.parser.reset(request_.method);
    return;
  }
  const int64_t now = clock::monotonic_ns();
  const int64_t took = now - attempt_.dispatched_ns();
  record_.upstream_ns = took;
  record_.upstream_status = head.status;
  metrics::ClusterCounters& counters = cluster_counters();
  counters.responses[metrics::code_class_index(head.status)].add();
  counters.duration.observe_ns(took);
  if (head.status == 101) {
    if (!request_.head->upgrade) {
      release_upstream(false);
      respond(LocalResponse::error(502, "unexpected-upgrade"));
      return;
    }
    sink_->on_response_head(head, sticky_cookie());
    note_response(101);
    flags_.response_seen = true;
    stop_request_timer();
    budget_.end();  // a tunnel may last for hours: it is no request in flight for the budget
    response_.phase = Phase::tunnel;
    return;
  }
  // Once the head is forwarded, a framing error can only cut the client's reply: body bytes
  // that came with the head (a bad chunk size, a bare LF, more data than declared) are
  // checked first, so that such an answer becomes a clean 502.
  http::BodyScanner probe(head, kLimits);
  if (!queued_body_frames(probe, upstream()->in(), client_.host->loop().buffers())) {
    LOG_DEBUG("bad response body from upstream: %s", std::string(probe.error().detail).c_str());
    endpoint_failed();
    release_upstream(false);
    breaker_.failed(now);
    give_up(config::FallbackReason::retries_exhausted, LocalResponse::error(502, "bad-response"));
    return;
  }
  // The endpoint's answer counts for passive health whether or not it is retried.
  const bool server_error = head.status >= 500;
  report_endpoint(*request_.cluster, attempt_.endpoint(),
                  server_error ? EndpointResult::server_error : EndpointResult::ok, now);
  const std::vector<int>& on_status = request_.route->config->retries.on_status;
  if (std::find(on_status.begin(), on_status.end(), head.status) != on_status.end() &&
      retry("retryable status"))
    return;
  flags_.response_seen = true;
  if (server_error) {
    breaker_.failed(now);
  } else {
    breaker_.succeeded(now);
  }
  if (request_.cluster->tracks_latency)
    balancers::observe_latency(*attempt_.load(), took, now, request_.cluster->ewma_tau_ns);
  flags_.response_keep_alive = head.keep_alive && head.framing != http::Framing::until_close;
  render_response_rules();
  flags_.dechunk = sink_->on_response_head(head, sticky_cookie());
  note_response(head.status);
  response_.body.reset(head, kLimits);
  response_.body.set_payload_sink(flags_.dechunk ? &Exchange::forward_payload : nullptr, this);
  response_.phase = Phase::body;
  if (!head.has_body()) finish_response();
}

void Exchange::forward_payload(void* context, size_t offset, size_t length) {
  auto* self = static_cast<Exchange*>(context);
  self->sink_->on_response_body(self->response_.payload_buffer,
                                self->response_.payload_offset + static_cast<uint32_t>(offset),
                                static_cast<uint32_t>(length));
}

void Exchange::finish_response() {
  stop_request_timer();
  request_permit_.reset();
  budget_.end();
  if (response_.phase != Phase::none) {
    // Reusable only when the exchange ended cleanly on both sides.
    UpstreamConnection* c = upstream();
    release_upstream(flags_.response_keep_alive && flags_.request_done && c != nullptr &&
                     c->in().empty() && c->out().empty());
  }
  response_.phase = Phase::none;
  sink_->on_response_end();
}

void Exchange::release_upstream(bool reusable) {
  UpstreamConnection* c = attempt_.release();
  if (c == nullptr) return;
  ++c->requests;
  if (!(reusable && c->park())) c->close();
}

void Exchange::on_timer(int) {
  if (!flags_.active) return;
  if (!flags_.request_done && !flags_.response_seen) {
    // The endpoint is still waiting for the body: the client is the slow one,
    // which says nothing about the endpoint's health (neither breaker nor
    // outlier detection hears of it).
    release_upstream(false);
    breaker_.cancel();
    client_.host->counters().timeouts.add();
    respond(LocalResponse::error(408, "body-timeout"));
    return;
  }
  if (response_.phase == Phase::head && !flags_.response_seen) {
    // While a retry backs off no endpoint holds the request: the last one was judged already.
    if (!flags_.backing_off) endpoint_failed();
    release_upstream(false);
    breaker_.failed(clock::monotonic_ns());
    cluster_counters().timeouts.add();
    give_up(config::FallbackReason::retries_exhausted,
            LocalResponse::error(504, "upstream-timeout"));
    return;
  }
  sink_->on_exchange_failed();
}

void Exchange::endpoint_failed() {
  // A timeout, a reset, a close or garbage instead of a response: a gateway
  // failure, counted with 5xx answers towards ejection (Envoy counts them as
  // "gateway failures" the same way), so a hung endpoint is ejected too.
  if (attempt_.dispatched())
    report_endpoint(*request_.cluster, attempt_.endpoint(), EndpointResult::server_error,
                    clock::monotonic_ns());
}

}  // namespace sluice::proxy
