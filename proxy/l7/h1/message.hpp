// The parsed shape of one HTTP/1.1 message head, and how the codec reports
// errors. Plain data: a Head holds views into the HeadParser that produced it,
// so it is valid until that parser is fed again, reset or destroyed.
// Any thread; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice::proxy::http {

struct Header {
  std::string_view name, value;  // value without surrounding whitespace
};

// How the body after a head is delimited. until_close only occurs on responses.
enum class Framing { none, content_length, chunked, until_close };

struct Limits {
  size_t max_request_line = 8192;   // start line, without CRLF (414 / 502)
  size_t max_header_bytes = 65536;  // field section after the start line, incl. CRLFs (431 / 502)
  size_t max_headers = 100;         // field lines (431 / 502); also bounds chunked trailers
};

struct Head {
  bool is_request = true;
  std::string_view method, target;  // requests
  int status = 0;                   // responses
  std::string_view reason;
  int version = 11;             // 10 or 11
  std::vector<Header> headers;  // in order, as received
  Framing framing = Framing::none;
  uint64_t content_length = 0;  // valid when a Content-Length header was present
  bool keep_alive = true;       // after Connection tokens and the version default
  bool upgrade = false;         // request: Connection: upgrade + Upgrade (1.1); response: 101
  bool expect_continue = false;
  std::string_view host;  // requests: the Host value (authority), as received
  // Requests: the path part of the target ("/a/b" of "/a/b?x", "http://h/a/b?x"; "*" for
  // OPTIONS *; "/" when an absolute-form target has an empty path) and the query without '?'.
  std::string_view path, query;
  bool has_query = false;

  // First header with this name (ASCII case-insensitive), or null.
  const Header* find(std::string_view name) const;
  // Whether body bytes follow the head (a Content-Length of 0 is no body).
  bool has_body() const {
    return framing == Framing::chunked || framing == Framing::until_close ||
           (framing == Framing::content_length && content_length > 0);
  }
  void clear();  // keeps the headers' capacity
};

// `code` is a short stable token for logs, metrics and the x-sluice-error header
// ("bad-framing", "header-too-large", ...); `detail` a human sentence. Both point to
// static storage. Requests fail with 4xx/5xx to send to the client; upstream
// responses always fail with 502.
struct Error {
  int status = 400;
  std::string_view code;
  std::string_view detail;
};

enum class Status { need_more, done, error };

// ASCII case-insensitive comparisons (header names, tokens, hosts).
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
bool iends_with(std::string_view s, std::string_view suffix);

}  // namespace sluice::proxy::http
