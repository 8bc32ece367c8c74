// HeadParser: accumulates one HTTP/1.1 request or response head from any split
// of the input and checks it strictly (RFC 9112): a lexical pre-scan of the raw
// bytes (HeadScanner), then Boost.Beast's parser for the start line and fields,
// then the semantic rules a proxy needs (framing, Host, target form, version).
// One parser per connection direction, reused with reset(). Owned and called by
// one worker thread; no I/O, no exceptions.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "proxy/l7/h1/head_scanner.hpp"
#include "proxy/l7/h1/message.hpp"

namespace sluice::proxy::http {

// A request listener's choices (config::Listener). The defaults are the config's.
struct RequestOptions {
  config::HeadersWithUnderscores underscores = config::HeadersWithUnderscores::drop;
};

class HeadParser {
 public:
  static HeadParser request(const Limits& limits, const RequestOptions& options = {});
  // A response to `request_method`: HEAD => no body; 1xx/204/304 => no body.
  static HeadParser response(const Limits& limits, std::string_view request_method);

  // Movable while it holds no parsed head (the head's views point into its buffer).
  HeadParser(HeadParser&&) = default;
  HeadParser& operator=(HeadParser&&) = default;
  HeadParser(const HeadParser&) = delete;
  HeadParser& operator=(const HeadParser&) = delete;

  // Consumes bytes of `input`:
  //  need_more: all of `input` was taken (copied); feed the next bytes.
  //  done:      the first `consumed` bytes ended the head; the rest is body or the next message.
  //  error:     error() says why; `consumed` is the offset of the offending byte when known.
  // After done or error it returns the same status and consumes nothing until reset().
  Status feed(std::string_view input, size_t& consumed);

  const Head& head() const { return head_; }
  const Error& error() const { return error_; }
  Status status() const { return status_; }

  // Ready for the next message on a keep-alive connection (keeps capacity).
  void reset();
  // Responses: ready for the response to a new request with this method.
  void reset(std::string_view request_method);
  // Requests: the options for the heads fed from now on (a reload may change the
  // listener's between two requests of a keep-alive connection).
  void set_options(const RequestOptions& options) { options_ = options; }

 private:
  HeadParser(const Limits& limits, bool is_request, bool head_request);
  Status parse_buffered();

  HeadScanner scanner_;
  bool is_request_;
  bool head_request_;  // responses: the request was HEAD
  RequestOptions options_;
  std::string buf_;  // the head bytes (leading empty lines excluded)
  Head head_;
  Error error_;
  Status status_ = Status::need_more;
};

}  // namespace sluice::proxy::http
