// Writing responses on an H1Connection: the ExchangeSink side. Everything is
// queued on the client stream and sent once the current event is handled
// (drive), so a head and the body bytes that came with it leave in one send.
#include "proxy/l7/h1/serialize.hpp"
#include "proxy/l7/h1_connection.hpp"

#include "proxy/l7/body_probe.hpp"

namespace sluice::proxy {

void H1Connection::on_interim_response(const http::Head& head) {
  std::string out;
  http::serialize_response(head, true, out);
  client_->out.push_owned(std::move(out));
  schedule();
}

bool H1Connection::on_response_head(const http::Head& head, std::string_view extra_headers) {
  std::string out;
  if (head.status == 101) {
    http::serialize_response(head, true, out, false, request_->exchange.response_edits(),
                             extra_headers);
    client_->out.push_owned(std::move(out));
    request_state_ = RequestState::tunnel;
    schedule();
    return false;
  }
  // An HTTP/1.0 client cannot read chunked coding: it gets the payload alone,
  // delimited by the close.
  const bool dechunk =
      request_->parser.head().version == 10 && head.framing == http::Framing::chunked;
  if (head.framing == http::Framing::until_close || dechunk) flags_.keep_alive = false;
  http::serialize_response(head, flags_.keep_alive, out, dechunk,
                           request_->exchange.response_edits(), extra_headers);
  // sluice's own fields (RateLimit of limits with `headers: always`) before the blank line.
  if (std::string_view extra = request_->exchange.response_headers(); !extra.empty())
    out.insert(out.size() - 2, extra);
  client_->out.push_owned(std::move(out));
  schedule();
  return dechunk;
}

void H1Connection::on_response_body(uint16_t buffer, uint32_t offset, uint32_t length) {
  client_->out.push_slice(host->loop().buffers(), buffer, offset, length);
  schedule();
}

void H1Connection::on_response_end() {
  if (request_state_ == RequestState::tunnel) {
    flags_.tunnel_upstream_eof = true;
  } else {
    flags_.response_done = true;
    // The response ended before the request body: the rest of it has nowhere to go.
    if (request_state_ == RequestState::body) close_after_flush();
  }
  schedule();
}

void H1Connection::on_local_response(const LocalResponse& response) {
  std::string out;
  const bool keep_alive = response.keep_alive && flags_.keep_alive;
  if (response.direct) {
    // A route's direct response is always well framed (keep_alive); a fallback's replaces an
    // error that may not be, and closes like it would have.
    http::direct_response(response.status, response.body, keep_alive, out, flags_.head_request,
                          response.extra_headers);
  } else {
    http::error_response(response.status, response.code, keep_alive, out, response.body,
                         response.extra_headers, flags_.head_request);
  }
  client_->out.push_owned(std::move(out));
  if (!response.keep_alive || (!response.direct && !flags_.keep_alive)) {
    close_after_flush();  // the exchange ends now, not after the lingering close
  } else {
    // The request was well framed: skip its body and carry on with the next one.
    flags_.response_done = true;
  }
  schedule();
}

void H1Connection::on_exchange_failed() {
  flags_.failed = true;
  schedule();
}

const http::Error* H1Connection::check_buffered_body() {
  http::BodyScanner probe = request_->body;
  if (queued_body_frames(probe, client_->in, host->loop().buffers())) return nullptr;
  request_->body_error = probe.error();
  return &request_->body_error;
}

}  // namespace sluice::proxy
