// The admin server's request and response as handlers see them, and the response's bytes on
// the wire. Plain data and pure functions: any thread may use them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::proxy::admin {

struct AdminRequest {
  std::string method;  // as sent: "GET", "POST"; HEAD requests reach GET handlers as "HEAD"
  std::string path;    // the target up to '?', not percent-decoded
  std::string query;   // after '?', without it; empty when there is none
  std::string body;
  unsigned version = 11;  // HTTP/1.1; 10 for HTTP/1.0
  // Every header field as received, in order; names as sent (compare them without case).
  std::vector<std::pair<std::string, std::string>> headers;

  // The value of the first field called `name` (any case), or null.
  const std::string* header(std::string_view name) const;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Further headers (e.g. Allow, Retry-After). Content-Type, Content-Length and Connection are
  // set by the server; names and values must not contain CR or LF.
  std::vector<std::pair<std::string, std::string>> headers;
};

// A plain-text response: `status` with `body`.
inline AdminResponse text_response(int status, std::string body) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// HTTP/1.1 status line, headers and body. Always `Connection: close` (one request per
// connection) and `Cache-Control: no-store` (admin answers describe this instant). `head`:
// the headers of the GET answer without its body. 1xx, 204 and 304 carry neither
// Content-Length nor a body (RFC 9110 8.6).
std::string serialize_response(const AdminResponse& response, bool head);

}  // namespace sluice::proxy::admin
