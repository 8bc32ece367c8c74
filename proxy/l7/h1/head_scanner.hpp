// Strict lexical pre-scan of a message head, byte by byte, across any split of
// the input. It rejects what Beast's parser would tolerate and a next hop might
// read differently (RFC 9112 §2.2, §5): bare LF or CR, CTLs, obs-fold, whitespace
// before the colon or before the first field, and enforces the size limits. It
// finds the end of the head; the tokens are parsed afterwards by Beast.
// Internal to HeadParser.
#pragma once

#include <cstddef>
#include <string_view>

#include "proxy/l7/h1/message.hpp"

namespace sluice::proxy::http {

class HeadScanner {
 public:
  HeadScanner(const Limits& limits, bool is_request) : limits_(limits), is_request_(is_request) {}

  void reset();

  // Scans `input`. need_more: all of it belongs to the head (or precedes it);
  // done: `consumed` bytes end the head, including its final CRLF; error: `error()`.
  // `skipped` is how many of the first bytes of `input` are empty lines before the
  // start line (RFC 9112 §2.2 lets a server ignore them); they are not head bytes.
  Status scan(std::string_view input, size_t& consumed, size_t& skipped);
  const Error& error() const { return error_; }

 private:
  enum class State : unsigned char {
    leading,     // before the start line: CRLFs are skipped
    leading_lf,  // CR seen before the start line
    start_line,
    start_line_lf,
    line_begin,  // first byte of a field line, or CR of the final CRLF
    name,
    value,
    value_lf,
    end_lf,
    done,
    error,
  };
  Status fail(int request_status, std::string_view code, std::string_view detail);

  Limits limits_;
  bool is_request_;
  State state_ = State::leading;
  size_t leading_bytes_ = 0;
  size_t start_line_bytes_ = 0;
  size_t start_line_spaces_ = 0;  // a request line has two, a status line at least one
  size_t field_bytes_ = 0;
  size_t fields_ = 0;
  Error error_;
};

}  // namespace sluice::proxy::http
