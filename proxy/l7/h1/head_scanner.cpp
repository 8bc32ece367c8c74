#include "proxy/l7/h1/head_scanner.hpp"

#include "proxy/l7/h1/chars.hpp"
#include "proxy/l7/h1/errors.hpp"

namespace sluice::proxy::http {

namespace {
// Empty lines tolerated before a start line: one is what clients send after a
// POST body by mistake; more is noise or an attack.
constexpr size_t kMaxLeadingBytes = 8;
}  // namespace

void HeadScanner::reset() {
  state_ = State::leading;
  leading_bytes_ = start_line_bytes_ = start_line_spaces_ = field_bytes_ = fields_ = 0;
  error_ = Error{};
}

Status HeadScanner::fail(int request_status, std::string_view code, std::string_view detail) {
  state_ = State::error;
  error_ = errc::make(is_request_, request_status, code, detail);
  return Status::error;
}

Status HeadScanner::scan(std::string_view input, size_t& consumed, size_t& skipped) {
  skipped = 0;
  size_t i = 0;
  const size_t n = input.size();
  auto lf_after_cr = [&](unsigned char c, State next) {
    if (c != '\n') return fail(400, errc::bare_cr, "CR not followed by LF");
    state_ = next;
    return Status::need_more;
  };
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(input[i]);
    if (state_ >= State::line_begin && state_ <= State::end_lf) {
      if (++field_bytes_ > limits_.max_header_bytes)
        return consumed = i, fail(431, errc::header_too_large, "header section too large");
    }
    switch (state_) {
      case State::leading:
        if (c == '\r') {
          state_ = State::leading_lf;
          if (++leading_bytes_ > kMaxLeadingBytes)
            return consumed = i, fail(400, errc::bad_start_line, "too many empty lines");
          break;
        }
        if (c == '\n') return consumed = i, fail(400, errc::bare_lf, "bare LF before start line");
        skipped = i;
        state_ = State::start_line;
        [[fallthrough]];
      case State::start_line:
        if (c == '\r') {
          state_ = State::start_line_lf;
        } else if (c == '\n') {
          return consumed = i, fail(400, errc::bare_lf, "bare LF ends the start line");
        } else if (!chars::is_line_char(c)) {
          return consumed = i, fail(400, errc::bad_start_line, "control character in start line");
        } else if (++start_line_bytes_ > limits_.max_request_line) {
          return consumed = i, fail(414, errc::start_line_too_long, "start line too long");
        } else if (c == ' ') {
          ++start_line_spaces_;
        }
        break;
      case State::leading_lf:
        if (c != '\n') return consumed = i, fail(400, errc::bare_cr, "CR not followed by LF");
        state_ = State::leading;
        ++leading_bytes_;
        skipped = i + 1;
        break;
      case State::start_line_lf:
        if (lf_after_cr(c, State::line_begin) == Status::error) return consumed = i, Status::error;
        // "GET /" + CRLF is an HTTP/0.9 request: no header section follows, so waiting for
        // one would hold the connection until the header timeout. Refused at once with 400,
        // as HAProxy does (nginx answers a GET in 0.9 style, other methods with 400). A
        // line without any SP is not a request line at all (the code Beast gave it), and a
        // status line needs a SP after its version the same way.
        if (!is_request_ && start_line_spaces_ == 0)
          return consumed = i, fail(502, errc::bad_version, "status line without status code");
        if (is_request_ && start_line_spaces_ == 0)
          return consumed = i, fail(400, errc::bad_method, "request line without target");
        if (is_request_ && start_line_spaces_ == 1)
          return consumed = i,
                 fail(400, errc::bad_version, "request line without HTTP version (HTTP/0.9)");
        break;
      case State::line_begin:
        if (c == '\r') {
          state_ = State::end_lf;
        } else if (c == '\n') {
          return consumed = i, fail(400, errc::bare_lf, "bare LF in header section");
        } else if (chars::is_ows(c)) {
          // Folded continuation line, or whitespace before the first field (§2.2).
          return consumed = i, fail(400, errc::obs_fold, "line folding or leading whitespace");
        } else if (chars::is_tchar(c)) {
          if (++fields_ > limits_.max_headers)
            return consumed = i, fail(431, errc::too_many_headers, "too many header fields");
          state_ = State::name;
        } else {
          return consumed = i, fail(400, errc::bad_header_name, "invalid header name");
        }
        break;
      case State::name:
        if (c == ':') {
          state_ = State::value;
        } else if (chars::is_ows(c)) {
          return consumed = i, fail(400, errc::space_before_colon, "whitespace before colon");
        } else if (!chars::is_tchar(c)) {
          return consumed = i, fail(400, errc::bad_header_name, "invalid header name");
        }
        break;
      case State::value:
        if (c == '\r') {
          state_ = State::value_lf;
        } else if (c == '\n') {
          return consumed = i, fail(400, errc::bare_lf, "bare LF ends a header field");
        } else if (!chars::is_field_value_char(c)) {
          return consumed = i,
                 fail(400, errc::bad_header_value, "control character in header value");
        }
        break;
      case State::value_lf:
        if (lf_after_cr(c, State::line_begin) == Status::error) return consumed = i, Status::error;
        break;
      case State::end_lf:
        if (lf_after_cr(c, State::done) == Status::error) return consumed = i, Status::error;
        consumed = i + 1;
        return Status::done;
      case State::done:
        consumed = 0;
        return Status::done;
      case State::error:
        consumed = 0;
        return Status::error;
    }
  }
  if (state_ == State::leading || state_ == State::leading_lf) skipped = n;
  consumed = n;
  return Status::need_more;
}

}  // namespace sluice::proxy::http
