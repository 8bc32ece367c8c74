#include "proxy/l7/h1/body_scanner.hpp"

#include <algorithm>

#include "proxy/l7/h1/chars.hpp"
#include "proxy/l7/h1/errors.hpp"

namespace sluice::proxy::http {

namespace {
// A chunk-size line (size and extensions) longer than this is abuse, not data.
constexpr size_t kMaxChunkLine = 4096;
// 16 hex digits fill 64 bits; more could only be leading zeros or an overflow.
constexpr unsigned kMaxSizeDigits = 16;

bool is_qdtext(unsigned char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
         (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}
}  // namespace

void BodyScanner::reset(const Head& head, const Limits& limits) {
  is_request_ = head.is_request;
  remaining_ = body_bytes_ = 0;
  size_digits_ = 0;
  line_bytes_ = trailer_bytes_ = trailers_ = 0;
  max_trailer_bytes_ = limits.max_header_bytes;
  max_trailers_ = limits.max_headers;
  error_ = Error{};
  status_ = Status::need_more;
  switch (head.framing) {
    case Framing::none:
      state_ = State::done;
      status_ = Status::done;
      break;
    case Framing::content_length:
      remaining_ = head.content_length;
      state_ = remaining_ ? State::length : State::done;
      if (!remaining_) status_ = Status::done;
      break;
    case Framing::chunked:
      state_ = State::size_start;
      break;
    case Framing::until_close:
      state_ = State::until_close;
      break;
  }
}

Status BodyScanner::fail(std::string_view code, std::string_view detail, int request_status) {
  state_ = State::error;
  error_ = errc::make(is_request_, request_status, code, detail);
  return status_ = Status::error;
}

Status BodyScanner::feed(std::string_view input, size_t& consumed) {
  consumed = 0;
  switch (state_) {
    case State::done:
    case State::error:
      return status_;
    case State::until_close:
      consumed = input.size();
      body_bytes_ += input.size();
      return Status::need_more;
    case State::length: {
      const uint64_t take = std::min<uint64_t>(remaining_, input.size());
      remaining_ -= take;
      body_bytes_ += take;
      consumed = static_cast<size_t>(take);
      if (remaining_) return Status::need_more;
      state_ = State::done;
      return status_ = Status::done;
    }
    default:
      return scan_chunked(input, consumed);
  }
}

Status BodyScanner::eof() {
  if (state_ == State::until_close) {
    state_ = State::done;
    status_ = Status::done;
  }
  if (state_ == State::done || state_ == State::error) return status_;
  return fail(errc::truncated_body, "connection closed inside the body");
}

Status BodyScanner::scan_chunked(std::string_view input, size_t& consumed) {
  const size_t n = input.size();
  size_t i = 0;
  auto at = [&](std::string_view code, std::string_view detail) {
    consumed = i;
    return fail(code, detail);
  };
  while (i < n) {
    if (state_ == State::data) {
      const uint64_t take = std::min<uint64_t>(remaining_, n - i);
      if (sink_ != nullptr && take > 0) sink_(sink_context_, i, static_cast<size_t>(take));
      remaining_ -= take;
      body_bytes_ += take;
      i += static_cast<size_t>(take);
      if (!remaining_) state_ = State::data_cr;
      continue;
    }
    const auto c = static_cast<unsigned char>(input[i]);
    if (state_ >= State::size_start && state_ <= State::size_lf && ++line_bytes_ > kMaxChunkLine)
      return at(errc::bad_chunk_extension, "chunk line too long");
    if (state_ >= State::trailer_begin && state_ <= State::final_lf &&
        ++trailer_bytes_ > max_trailer_bytes_)
      return at(errc::header_too_large, "trailer section too large");
    switch (state_) {
      case State::size_start:
      case State::size: {
        const int h = chars::hex_value(c);
        if (h >= 0) {
          if (++size_digits_ > kMaxSizeDigits)
            return at(errc::chunk_size_overflow, "chunk size has more than 16 hex digits");
          remaining_ = remaining_ << 4 | static_cast<uint64_t>(h);
          state_ = State::size;
        } else if (state_ == State::size_start) {
          return at(errc::bad_chunk_size, "chunk size is not a hex number");
        } else if (c == ';') {
          state_ = State::ext_name_start;
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          return at(errc::bare_lf, "bare LF ends a chunk size line");
        } else {
          // Includes the BWS RFC 9112 tolerates before ';': refused, as nothing sends it.
          return at(errc::bad_chunk_size, "invalid character after chunk size");
        }
        break;
      }
      case State::ext_name_start:
        if (!chars::is_tchar(c)) return at(errc::bad_chunk_extension, "invalid chunk extension");
        state_ = State::ext_name;
        break;
      case State::ext_name:
      case State::ext_token:
        if (chars::is_tchar(c)) break;
        if (c == '=' && state_ == State::ext_name) {
          state_ = State::ext_value_start;
        } else if (c == ';') {
          state_ = State::ext_name_start;
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          return at(errc::bare_lf, "bare LF ends a chunk size line");
        } else {
          return at(errc::bad_chunk_extension, "invalid chunk extension");
        }
        break;
      case State::ext_value_start:
        if (c == '"')
          state_ = State::ext_quoted;
        else if (chars::is_tchar(c))
          state_ = State::ext_token;
        else
          return at(errc::bad_chunk_extension, "invalid chunk extension value");
        break;
      case State::ext_quoted:
        if (c == '"')
          state_ = State::ext_after_quoted;
        else if (c == '\\')
          state_ = State::ext_quoted_pair;
        else if (!is_qdtext(c))
          return at(errc::bad_chunk_extension, "invalid character in quoted extension");
        break;
      case State::ext_quoted_pair:
        if (!chars::is_field_value_char(c))
          return at(errc::bad_chunk_extension, "invalid quoted-pair in extension");
        state_ = State::ext_quoted;
        break;
      case State::ext_after_quoted:
        if (c == ';')
          state_ = State::ext_name_start;
        else if (c == '\r')
          state_ = State::size_lf;
        else if (c == '\n')
          return at(errc::bare_lf, "bare LF ends a chunk size line");
        else
          return at(errc::bad_chunk_extension, "invalid chunk extension");
        break;
      case State::size_lf:
        if (c != '\n') return at(errc::bare_cr, "CR not followed by LF in chunk line");
        line_bytes_ = 0;
        size_digits_ = 0;
        state_ = remaining_ ? State::data : State::trailer_begin;
        break;
      case State::data_cr:
        if (c != '\r') return at(errc::bad_chunk, "chunk data not followed by CRLF");
        state_ = State::data_lf;
        break;
      case State::data_lf:
        if (c != '\n') return at(errc::bad_chunk, "chunk data not followed by CRLF");
        state_ = State::size_start;
        break;
      case State::trailer_begin:
        if (c == '\r') {
          state_ = State::final_lf;
        } else if (chars::is_tchar(c)) {
          if (++trailers_ > max_trailers_)
            return at(errc::too_many_headers, "too many trailer fields");
          trailer_name_.reset();
          trailer_name_.feed(c);
          state_ = State::trailer_name;
        } else if (c == '\n') {
          return at(errc::bare_lf, "bare LF in trailer section");
        } else {
          return at(errc::bad_trailer, "invalid trailer field");  // obs-fold included
        }
        break;
      case State::trailer_name:
        if (c == ':') {
          // RFC 9110 §6.5.1: framing and routing fields have no place in trailers, and
          // a next hop that merges trailers into the header section would act on them.
          // The relay forwards these bytes verbatim, so the field cannot be dropped:
          // the message is refused (400; 502 for a response not yet forwarded).
          if (trailer_name_.matches())
            return at(errc::forbidden_trailer, "framing or routing field in trailers");
          state_ = State::trailer_value;
        } else if (chars::is_tchar(c)) {
          trailer_name_.feed(c);
        } else {
          return at(errc::bad_trailer, "invalid trailer field name");
        }
        break;
      case State::trailer_value:
        if (c == '\r')
          state_ = State::trailer_value_lf;
        else if (c == '\n')
          return at(errc::bare_lf, "bare LF in trailer section");
        else if (!chars::is_field_value_char(c))
          return at(errc::bad_trailer, "control character in trailer value");
        break;
      case State::trailer_value_lf:
        if (c != '\n') return at(errc::bare_cr, "CR not followed by LF in trailer");
        state_ = State::trailer_begin;
        break;
      case State::final_lf:
        if (c != '\n') return at(errc::bare_cr, "CR not followed by LF after trailers");
        consumed = i + 1;
        state_ = State::done;
        return status_ = Status::done;
      default:
        return at(errc::bad_message, "body scanner in an impossible state");
    }
    ++i;
  }
  consumed = n;
  return Status::need_more;
}

}  // namespace sluice::proxy::http
