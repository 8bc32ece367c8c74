#include "proxy/l7/h1/head_parser.hpp"

#include <algorithm>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <limits>

#include "proxy/l7/h1/chars.hpp"
#include "proxy/l7/h1/errors.hpp"
#include "proxy/l7/h1/semantics.hpp"

namespace sluice::proxy::http {

namespace beast_http = boost::beast::http;
using boost::beast::error_code;

namespace {

std::string_view sv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

// Beast's parser fills our Head with views into the buffer it is given; it never
// reaches a body because it is fed exactly one complete head with eager(false).
template <bool isRequest>
class Collector final : public beast_http::basic_parser<isRequest> {
 public:
  explicit Collector(Head& head) : head_(head) {}

 private:
  void on_request_impl(beast_http::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version, error_code&) override {
    head_.method = sv(method);
    head_.target = sv(target);
    head_.version = version;
  }
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        error_code&) override {
    head_.status = code;
    head_.reason = sv(reason);
    head_.version = version;
  }
  void on_field_impl(beast_http::field, boost::beast::string_view name,
                     boost::beast::string_view value, error_code&) override {
    head_.headers.push_back(Header{sv(name), sv(value)});
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view body, error_code&) override {
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 error_code&) override {
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  Head& head_;
};

// Beast stops at the first field it dislikes, before we see it; which framing
// headers came earlier decides the code, so that the order of a conflicting
// Content-Length / Transfer-Encoding pair does not change the answer.
// Beast says bad_version both for "HTTP/x" and for a well-formed version other
// than 1.0/1.1; only the second deserves 505 (RFC 9110 §15.6.6).
bool is_well_formed_other_version(std::string_view start_line, bool is_request) {
  const size_t sp = is_request ? start_line.rfind(' ') : start_line.find(' ');
  if (sp == std::string_view::npos) return false;
  const std::string_view v = is_request ? start_line.substr(sp + 1) : start_line.substr(0, sp);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v.size() == 8 && v.starts_with("HTTP/") && digit(v[5]) && v[6] == '.' && digit(v[7]);
}

Error map_beast_error(const error_code& ec, const Head& head, std::string_view start_line) {
  const bool req = head.is_request;
  using E = beast_http::error;
  if (ec == E::bad_version && is_well_formed_other_version(start_line, req))
    return errc::make(req, 505, errc::unsupported_version, "unsupported HTTP version");
  if (ec == E::bad_method) return errc::make(req, 400, errc::bad_method, "invalid method token");
  if (ec == E::bad_target) return errc::make(req, 400, errc::bad_target, "invalid request target");
  if (ec == E::bad_version) return errc::make(req, 400, errc::bad_version, "invalid HTTP version");
  if (ec == E::bad_status) return errc::make(req, 400, errc::bad_status, "invalid status code");
  if (ec == E::bad_reason)
    return errc::make(req, 400, errc::bad_start_line, "invalid reason phrase");
  if (ec == E::bad_field) return errc::make(req, 400, errc::bad_header_name, "invalid header name");
  if (ec == E::bad_value)
    return errc::make(req, 400, errc::bad_connection, "invalid Connection header");
  if (ec == E::bad_content_length || ec == E::multiple_content_length) {
    if (head.find("transfer-encoding"))
      return errc::make(req, 400, errc::conflicting_framing,
                        "both Content-Length and Transfer-Encoding");
    return errc::make(req, 400, errc::bad_content_length, "invalid Content-Length");
  }
  if (ec == E::bad_transfer_encoding) {
    if (head.find("content-length"))
      return errc::make(req, 400, errc::conflicting_framing,
                        "both Content-Length and Transfer-Encoding");
    return errc::make(req, 400, errc::bad_transfer_encoding, "invalid Transfer-Encoding");
  }
  if (ec == E::header_limit)
    return errc::make(req, 431, errc::header_too_large, "header section too large");
  return errc::make(req, 400, errc::bad_message, "malformed message head");
}

// Two start lines Beast refuses that are valid, or common and harmless, rewritten in the
// buffer before Beast sees it (the head is re-serialized as HTTP/1.1 anyway):
//  - HTTP/1.x with x > 1: RFC 9110 §2.5 says to treat it as the highest 1.x we speak;
//  - a status line without the SP before an empty reason ("HTTP/1.1 301"): RFC 9112
//    wants the SP, but servers omit it and nginx and HAProxy accept it.
// `buf` holds a whole head, so its first line ends with CRLF.
void accept_lenient_start_line(std::string& buf, bool is_request) {
  const std::string_view line(buf.data(), buf.find('\r'));
  const size_t sp = is_request ? line.rfind(' ') : line.find(' ');
  if (sp == std::string_view::npos) return;
  const size_t v = is_request ? sp + 1 : 0;
  const size_t v_end = is_request ? line.size() : sp;
  if (v_end - v == 8 && line.substr(v, 7) == "HTTP/1." && line[v + 7] > '1' &&
      chars::is_digit(line[v + 7]))
    buf[v + 7] = '1';
  if (!is_request && line.size() == 12 && sp == 8 && chars::is_digit(line[9]) &&
      chars::is_digit(line[10]) && chars::is_digit(line[11]))
    buf.insert(12, 1, ' ');
}

template <bool isRequest>
bool beast_parse(const std::string& buf, bool head_request, Head& head, Error& error) {
  Collector<isRequest> parser(head);
  parser.eager(false);
  parser.body_limit(boost::none);  // bodies are not Beast's business here
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(buf.size() + 1, std::numeric_limits<std::uint32_t>::max())));
  if constexpr (!isRequest) parser.skip(head_request);
  error_code ec;
  const size_t used = parser.put(boost::asio::const_buffer(buf.data(), buf.size()), ec);
  if (!ec && (used != buf.size() || !parser.is_header_done()))
    ec = beast_http::error::partial_message;  // cannot happen: the scanner found the end
  if (ec) {
    const std::string_view all(buf);
    error = map_beast_error(ec, head, all.substr(0, all.find('\r')));
    return false;
  }
  return true;
}

}  // namespace

HeadParser::HeadParser(const Limits& limits, bool is_request, bool head_request)
    : scanner_(limits, is_request), is_request_(is_request), head_request_(head_request) {
  // A heap buffer from the start: moving the parser then never moves the bytes.
  buf_.reserve(1024);
  head_.is_request = is_request;
}

HeadParser HeadParser::request(const Limits& limits, const RequestOptions& options) {
  HeadParser p(limits, true, false);
  p.options_ = options;
  return p;
}

HeadParser HeadParser::response(const Limits& limits, std::string_view request_method) {
  return HeadParser(limits, false, request_method == "HEAD");
}

void HeadParser::reset() {
  scanner_.reset();
  buf_.clear();
  head_.clear();
  head_.is_request = is_request_;
  error_ = Error{};
  status_ = Status::need_more;
}

void HeadParser::reset(std::string_view request_method) {
  reset();
  head_request_ = request_method == "HEAD";
}

Status HeadParser::feed(std::string_view input, size_t& consumed) {
  consumed = 0;
  if (status_ != Status::need_more) return status_;
  size_t used = 0, skipped = 0;
  const Status s = scanner_.scan(input, used, skipped);
  consumed = used;
  if (s == Status::error) {
    error_ = scanner_.error();
    return status_ = Status::error;
  }
  if (used > skipped) buf_.append(input.data() + skipped, used - skipped);
  if (s == Status::need_more) return status_;
  return status_ = parse_buffered();
}

Status HeadParser::parse_buffered() {
  accept_lenient_start_line(buf_, is_request_);
  const bool ok = is_request_ ? beast_parse<true>(buf_, false, head_, error_)
                              : beast_parse<false>(buf_, head_request_, head_, error_);
  if (!ok) return Status::error;
  const bool checked = is_request_ ? finish_request(head_, options_.underscores, error_)
                                   : finish_response(head_, head_request_, error_);
  return checked ? Status::done : Status::error;
}

}  // namespace sluice::proxy::http
