// BodyScanner: walks a message body framed by Content-Length or chunked coding
// without copying it. The proxy forwards the consumed input bytes verbatim (zero
// copy), so this only validates the framing strictly (RFC 9112 §7.1) and finds
// where the body ends. Owned and called by one worker thread; no allocation.
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/l7/h1/field_names.hpp"
#include "proxy/l7/h1/message.hpp"

namespace sluice::proxy::http {

class BodyScanner {
 public:
  BodyScanner() = default;  // a scanner for "no body": done at once
  // Copies what it needs from `head` (framing, length, direction); `limits` bounds
  // the chunked trailer section (max_header_bytes, max_headers).
  explicit BodyScanner(const Head& head, const Limits& limits = {}) { reset(head, limits); }
  void reset(const Head& head, const Limits& limits = {});

  // need_more: all of `input` is body; done: the first `consumed` bytes end the body
  // (for chunked: including the last chunk, trailers and the final CRLF); the rest is
  // the next message. error: error(). Framing::none is done at once with consumed 0;
  // Framing::until_close is need_more until eof().
  Status feed(std::string_view input, size_t& consumed);
  // Where payload bytes lie within the input of each feed() (chunk data without
  // its framing), for de-chunking towards an HTTP/1.0 client. Offsets are into
  // that call's input. Null (the default) reports nothing.
  using PayloadSink = void (*)(void* context, size_t offset, size_t length);
  void set_payload_sink(PayloadSink sink, void* context) {
    sink_ = sink;
    sink_context_ = context;
  }

  // The peer closed its sending side: done for until_close (and finished bodies),
  // otherwise a truncated body.
  Status eof();

  const Error& error() const { return error_; }
  Status status() const { return status_; }
  uint64_t body_bytes() const { return body_bytes_; }  // payload bytes so far (not framing)

 private:
  enum class State : unsigned char {
    length,  // content-length payload
    until_close,
    size_start,  // first hex digit of a chunk size
    size,
    ext_name_start,
    ext_name,
    ext_value_start,
    ext_token,
    ext_quoted,
    ext_quoted_pair,
    ext_after_quoted,
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer_begin,
    trailer_name,
    trailer_value,
    trailer_value_lf,
    final_lf,
    done,
    error,
  };
  Status fail(std::string_view code, std::string_view detail, int request_status = 400);
  Status scan_chunked(std::string_view input, size_t& consumed);

  bool is_request_ = true;
  State state_ = State::done;
  Status status_ = Status::done;
  uint64_t remaining_ = 0;  // of the content-length body or of the current chunk
  uint64_t body_bytes_ = 0;
  unsigned size_digits_ = 0;
  size_t line_bytes_ = 0;  // of the current chunk-size line
  size_t trailer_bytes_ = 0;
  size_t trailers_ = 0;
  size_t max_trailer_bytes_ = 0;
  size_t max_trailers_ = 0;
  FramingNameMatcher trailer_name_;  // of the trailer field being read
  Error error_;
  PayloadSink sink_ = nullptr;
  void* sink_context_ = nullptr;
};

}  // namespace sluice::proxy::http
