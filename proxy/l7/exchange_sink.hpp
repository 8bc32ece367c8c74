// What an Exchange tells the downstream connection that runs it (HTTP/1 now,
// HTTP/2 streams later), and what it asks of it. The connection owns the
// client's socket and its wire format; the exchange owns the request's fate.
// Calls come from inside Exchange methods: a sink must not start, end or
// reuse the exchange from them (post that work instead). Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/l7/h1/message.hpp"

namespace sluice::proxy {

// A response sluice makes itself.
struct LocalResponse {
  int status = 0;
  std::string_view code;           // x-sluice-error token; empty for a route's direct response
  std::string_view body;           // empty: "<code>\n" for errors
  std::string_view extra_headers;  // complete "Name: value\r\n" lines (Retry-After ...)
  // The request was well framed, so the connection can go on once its body is
  // skipped; otherwise the connection closes after this response.
  bool keep_alive = false;
  bool direct = false;  // a route's direct_response

  static LocalResponse error(int status, std::string_view code, bool keep_alive = false) {
    LocalResponse r;
    r.status = status;
    r.code = code;
    r.keep_alive = keep_alive;
    return r;
  }
};

class ExchangeSink {
 public:
  // 1xx other than 101, forwarded as they come; the final response follows.
  virtual void on_interim_response(const http::Head& head) = 0;
  // The endpoint's final response head (a 101 switches to a tunnel), and
  // complete "Name: value\r\n" lines sluice adds to it (a sticky cookie's
  // Set-Cookie). Returns true when the body is wanted de-chunked (payload only).
  virtual bool on_response_head(const http::Head& head, std::string_view extra_headers) = 0;
  // Response body bytes (as framed by the endpoint, or payload only), a slice
  // of a receive buffer.
  virtual void on_response_body(uint16_t buffer, uint32_t offset, uint32_t length) = 0;
  // The response is complete; in a tunnel: the endpoint half-closed.
  virtual void on_response_end() = 0;
  virtual void on_local_response(const LocalResponse& response) = 0;
  // The response cannot be completed: the connection must end so that the
  // client cannot take what it got for a whole response.
  virtual void on_exchange_failed() = 0;
  // The endpoint took request bytes: more of the body may be fed.
  virtual void on_request_drained() = 0;
  // Response bytes still waiting for the client: the endpoint is paused above
  // the high-water mark (on_client_drained() resumes it).
  virtual size_t response_backlog() const = 0;
  // Just before the request goes to an endpoint: the framing of body bytes
  // that arrived with the head, so a request with bad framing is never
  // forwarded. Null when fine.
  virtual const http::Error* check_buffered_body() = 0;

 protected:
  ~ExchangeSink() = default;
};

}  // namespace sluice::proxy
