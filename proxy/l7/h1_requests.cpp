// Reading requests on an H1Connection: heads, bodies (streamed to the
// exchange as they arrive), pipelined requests, tunnelled bytes, the client's
// FIN, and moving on to the next request.
#include "proxy/l7/h1_connection.hpp"

namespace sluice::proxy {

void H1Connection::read_requests() {
  read_request_bytes();
  if (client_->eof() && !flags_.closing && !flags_.close_after_flush) on_client_eof();
}

void H1Connection::read_request_bytes() {
  BufferRing& buffers = host->loop().buffers();
  ChunkQueue& in = client_->in;
  while (!in.empty() && !flags_.closing && !flags_.close_after_flush) {
    std::string_view bytes = in.front(buffers);
    size_t used = 0;
    switch (request_state_) {
      case RequestState::head: {
        if (!flags_.request_started) {
          flags_.request_started = true;
          begin_exchange();
          host->loop().timers(header_timeout_ms()).start(header_timer_, host->loop().now_ms());
        }
        const http::Status status = request_->parser.feed(bytes, used);
        if (status == http::Status::need_more) {
          in.consume(bytes.size(), buffers);
          continue;
        }
        if (status == http::Status::error) {
          const http::Error& e = request_->parser.error();
          request_->exchange.respond_error(e.status, e.code);
          return;
        }
        in.consume(used, buffers);
        on_request_head();
        continue;
      }
      case RequestState::body: {
        // Leave the bytes here while the endpoint is not taking them.
        if (request_->exchange.request_backlog() > ChunkQueue::kHighWater) return;
        const http::Status status = request_->body.feed(bytes, used);
        if (status == http::Status::error) {
          request_->exchange.respond_error(request_->body.error().status,
                                           request_->body.error().code);
          return;
        }
        if (status == http::Status::need_more) used = bytes.size();
        if (!request_->exchange.on_request_body(in.front_buffer(), in.front_offset(),
                                                static_cast<uint32_t>(used),
                                                request_->body.body_bytes()))
          return;
        in.consume(used, buffers);
        if (status == http::Status::done) {
          request_state_ = RequestState::done;
          request_->exchange.on_request_end();
          if (flags_.response_done) flags_.again = true;  // drive() finishes it once sent
        }
        continue;
      }
      case RequestState::done:
        return;  // a pipelined request waits for the response before it
      case RequestState::tunnel:
        request_->exchange.on_tunnel_data(in.front_buffer(), in.front_offset(),
                                          static_cast<uint32_t>(bytes.size()));
        in.consume(bytes.size(), buffers);
        continue;
    }
  }
}

void H1Connection::on_client_eof() {
  switch (request_state_) {
    case RequestState::head:
      // A client that closes between requests is done; one mid-head is gone.
      if (!awaiting_response() && !flags_.response_done) abort();
      return;
    case RequestState::body:
      abort();  // the request cannot be completed
      return;
    case RequestState::done:
      flags_.keep_alive = false;  // answer this one, then close
      return;
    case RequestState::tunnel:
      request_->exchange.on_tunnel_client_eof();
      return;
  }
}

void H1Connection::begin_exchange() {
  if (host->outdated() && !flags_.listener_removed) follow_reload();
  // Bytes taken off the client's queues from here on are this request's.
  in_mark_ = client_->in.consumed_total();
  out_mark_ = client_->out.pushed_total();
  flags_.head_request = false;
  acquire_request();
  // After follow_reload: a reload may have changed the listener's choice.
  request_->parser.set_options({listener_->config.headers_with_underscores});
  request_->exchange.begin(*host, *listener_, client_ip_, client_address_);
  request_->exchange.set_client_facts(client_->facts());
}

void H1Connection::follow_reload() {
  // Between requests, a connection accepted before a reload moves onto the
  // running config, like a new connection would.
  SessionHost* next = host->follow_reload(*this);
  if (next == nullptr) {
    flags_.listener_removed = true;  // this request is the connection's last
    return;
  }
  // The running listener on the same address and protocol: HTTP as well.
  listener_ = &static_cast<const HttpListener&>(next->factory());
}

void H1Connection::on_request_head() {
  TimerList::stop(header_timer_);
  const http::Head& head = request_->parser.head();
  flags_.head_request = head.method == "HEAD";
  flags_.keep_alive = head.keep_alive && !flags_.listener_removed;
  flags_.response_done = false;
  flags_.tunnel_upstream_eof = false;
  request_->body.reset(head, Exchange::kLimits);
  request_state_ = head.has_body() ? RequestState::body : RequestState::done;
  request_->exchange.on_request_head(head);
}

void H1Connection::end_exchange() {
  if (request_)
    request_->exchange.end(client_->in.consumed_total() - in_mark_,
                           client_->out.pushed_total() - out_mark_);
}

void H1Connection::finish_exchange() {
  end_exchange();
  flags_.response_done = false;
  if (!flags_.keep_alive) {
    close_after_flush();
    return;
  }
  request_state_ = RequestState::head;
  flags_.request_started = false;
  flags_.head_request = false;  // a parse error on the next request must not see this one's
  if (client_->in.empty()) {
    release_request();  // idle: the connection keeps nothing of the request
  } else {
    request_->parser.reset();  // the next pipelined request, parsed by the drive that called us
  }
}

}  // namespace sluice::proxy
