#include "proxy/l7/h1/semantics.hpp"

#include <cstdint>

#include "proxy/l7/h1/chars.hpp"
#include "proxy/l7/h1/errors.hpp"
#include "proxy/l7/h1/field_names.hpp"

namespace sluice::proxy::http {

namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && chars::is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && chars::is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!chars::is_tchar(c)) return false;
  return true;
}

// Calls fn(element) for each comma-separated element, trimmed (empty ones too).
template <class Fn>
void for_each_element(std::string_view list, Fn&& fn) {
  for (;;) {
    const size_t comma = list.find(',');
    fn(trim_ows(list.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

// 1*DIGIT that fits in 64 bits; no sign, no list, no whitespace.
bool parse_content_length(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (unsigned char c : s) {
    if (!chars::is_digit(c)) return false;
    const uint64_t d = c - '0';
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// path [ "?" query ] of RFC 3986 with valid percent-escapes; `s` is empty or
// starts with '/' or '?'. Characters outside the RFC set (including '#', '"',
// '{', '|', '\\', obs-text) are refused rather than passed on for the next hop to
// guess at.
bool parse_path_query(std::string_view s, Head& head) {
  bool in_query = false;
  size_t query_at = s.size();
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (chars::is_pchar(c) || c == '/') continue;
    if (c == '?') {
      if (!in_query) query_at = i;
      in_query = true;
      continue;
    }
    if (c == '%' && i + 2 < s.size() && chars::hex_value(s[i + 1]) >= 0 &&
        chars::hex_value(s[i + 2]) >= 0) {
      i += 2;
      continue;
    }
    return false;
  }
  head.path = s.substr(0, query_at);
  if (head.path.empty()) head.path = "/";
  head.has_query = in_query;
  head.query = in_query ? s.substr(query_at + 1) : std::string_view{};
  return true;
}

// RFC 3986 reg-name: unreserved / sub-delims (pct-encoded aside, see valid_authority),
// less ','. A comma is legal there, but sluice copies the Host into X-Forwarded-Host,
// which next hops read as a list: "evil.example,a.example.com" would match a route for
// *.example.com here and be taken for evil.example there. No registered name has one.
bool is_reg_name_char(unsigned char c) {
  if (chars::is_alpha(c) || chars::is_digit(c)) return true;
  for (char allowed : std::string_view("-._~!$&'()*+;="))
    if (c == static_cast<unsigned char>(allowed)) return true;
  return false;
}

}  // namespace

bool valid_authority(std::string_view a) {
  if (a.empty()) return false;
  size_t host_end;
  if (a.front() == '[') {
    // IP-literal: IPv6 only (no IPvFuture); the address syntax itself is the
    // resolver's business, but only hex digits, ':' and '.' may appear.
    host_end = a.find(']');
    if (host_end == std::string_view::npos || host_end == 1) return false;
    for (size_t i = 1; i < host_end; ++i) {
      const auto c = static_cast<unsigned char>(a[i]);
      if (chars::hex_value(c) < 0 && c != ':' && c != '.') return false;
    }
    ++host_end;
  } else {
    // reg-name / IPv4. Sub-delims are valid ("0.0.0.0=5000", "a!b"; refusing them
    // was a false rejection). Percent-escapes stay refused: no DNS name needs one, and
    // hops that decode them would route a different name than the one matched here.
    host_end = a.find(':');
    if (host_end == std::string_view::npos) host_end = a.size();
    if (host_end == 0) return false;
    for (size_t i = 0; i < host_end; ++i)
      if (!is_reg_name_char(static_cast<unsigned char>(a[i]))) return false;
  }
  if (host_end == a.size()) return true;
  if (a[host_end] != ':') return false;
  const std::string_view port = a.substr(host_end + 1);
  if (port.empty() || port.size() > 5) return false;
  uint32_t v = 0;
  for (unsigned char c : port) {
    if (!chars::is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  return v <= 65535;
}

namespace {

// What the header fields say about framing and the connection, shared by requests
// and responses; `fail` carries the request-side status (responses map to 502).
struct Fields {
  const Header* host = nullptr;
  int hosts = 0;
  int content_lengths = 0;
  bool has_transfer_encoding = false;
  bool conn_close = false, conn_keep_alive = false, conn_upgrade = false;
  bool upgrade_header = false;
  const Header* expect = nullptr;
};

// "Content_Length" or "Transfer--Encoding" is not a framing field to us, but backends that
// treat '_' like '-' (CGI's HTTP_* names) or drop separators would frame the body by it: a
// smuggling vector, refused in both directions whatever headers_with_underscores says.
bool aliases_framing_field(std::string_view name) {
  return classify_framing_name(name) == FramingName::lookalike;
}

bool collect_fields(Head& head, Fields& f, Error& error) {
  const bool req = head.is_request;
  for (const Header& h : head.headers) {
    // One look at the name tells the framing fields, their look-alikes and the rest apart.
    const FramingName framing = classify_framing_name(h.name);
    if (framing == FramingName::lookalike) {
      error = errc::make(req, 400, errc::bad_header_name, "field name aliases a framing field");
      return false;
    }
    if (framing == FramingName::host) {
      f.host = f.host ? f.host : &h;
      ++f.hosts;
    } else if (framing == FramingName::content_length) {
      if (++f.content_lengths > 1) {
        error = errc::make(req, 400, errc::bad_content_length, "more than one Content-Length");
        return false;
      }
      if (!parse_content_length(h.value, head.content_length)) {
        error = errc::make(req, 400, errc::bad_content_length, "invalid Content-Length");
        return false;
      }
    } else if (framing == FramingName::transfer_encoding) {
      f.has_transfer_encoding = true;
    } else if (iequals(h.name, "connection")) {
      bool ok = true;
      for_each_element(h.value, [&](std::string_view e) {
        if (e.empty()) return;  // "a, , b": empty list elements are allowed (RFC 9110 §5.6.1)
        if (!is_token(e)) ok = false;
        if (iequals(e, "close")) f.conn_close = true;
        if (iequals(e, "keep-alive")) f.conn_keep_alive = true;
        if (iequals(e, "upgrade")) f.conn_upgrade = true;
      });
      if (!ok) {
        error = errc::make(req, 400, errc::bad_connection, "invalid Connection header");
        return false;
      }
    } else if (iequals(h.name, "upgrade")) {
      f.upgrade_header = true;
    } else if (iequals(h.name, "expect")) {
      f.expect = f.expect ? f.expect : &h;
    }
  }
  return true;
}

// Transfer-Encoding is accepted only as exactly one "chunked" over all its fields
// (RFC 9112 §6.1, §6.3): chunked must be final and applied once; a request whose
// final coding is not chunked cannot be framed (400); a valid list ending in chunked
// with other codings before it is well-formed but not something sluice decodes (501).
bool check_transfer_encoding(const Head& head, Error& error) {
  const bool req = head.is_request;
  int elements = 0, chunked = 0;
  bool bad = false, last_chunked = false;
  for (const Header& h : head.headers) {
    if (!iequals(h.name, "transfer-encoding")) continue;
    for_each_element(h.value, [&](std::string_view e) {
      if (!is_token(e)) bad = true;  // empty elements and parameters included
      ++elements;
      last_chunked = iequals(e, "chunked");
      chunked += last_chunked;
    });
  }
  if (bad || !last_chunked || chunked != 1) {
    error = errc::make(req, 400, errc::bad_transfer_encoding,
                       "Transfer-Encoding must end with a single chunked");
    return false;
  }
  if (elements != 1) {
    error = errc::make(req, 501, errc::unsupported_transfer_coding,
                       "transfer codings other than chunked are not supported");
    return false;
  }
  return true;
}

// Framing shared by both directions when the message may carry a body.
bool check_framing(Head& head, const Fields& f, Error& error) {
  const bool req = head.is_request;
  if (f.has_transfer_encoding && f.content_lengths) {
    error = errc::make(req, 400, errc::conflicting_framing,
                       "both Content-Length and Transfer-Encoding");
    return false;
  }
  if (f.has_transfer_encoding && head.version == 10) {
    error = errc::make(req, 400, errc::transfer_encoding_http10,
                       "Transfer-Encoding in an HTTP/1.0 message");
    return false;
  }
  if (f.has_transfer_encoding && !check_transfer_encoding(head, error)) return false;
  return true;
}

bool check_version(const Head& head, Error& error) {
  if (head.version == 10 || head.version == 11) return true;
  error = errc::make(head.is_request, 505, errc::unsupported_version, "unsupported HTTP version");
  return false;
}

void set_keep_alive(Head& head, const Fields& f) {
  head.keep_alive = head.version == 11 ? !f.conn_close : (f.conn_keep_alive && !f.conn_close);
}

// Request target forms of RFC 9112 §3.2 (CONNECT is refused before this).
bool check_target(Head& head, std::string_view& authority, Error& error) {
  const std::string_view t = head.target;
  auto bad = [&](std::string_view detail) {
    error = Error{400, errc::bad_target, detail};
    return false;
  };
  if (t == "*") {
    if (head.method != "OPTIONS") return bad("asterisk-form is for OPTIONS only");
    head.path = t;
    return true;
  }
  if (!t.empty() && t.front() == '/') {
    return parse_path_query(t, head) ? true : bad("invalid character in request target");
  }
  std::string_view rest;
  if (istarts_with(t, "http://"))
    rest = t.substr(7);
  else if (istarts_with(t, "https://"))
    rest = t.substr(8);
  else
    return bad("request target is not origin-form or http(s) absolute-form");
  const size_t end = rest.find_first_of("/?");
  authority = rest.substr(0, end);
  if (!valid_authority(authority)) return bad("invalid authority in request target");
  return parse_path_query(end == std::string_view::npos ? std::string_view{} : rest.substr(end),
                          head)
             ? true
             : bad("invalid character in request target");
}

// headers_with_underscores for a request, before collect_fields (which keeps pointers
// into the headers). A look-alike of a framing field is left for collect_fields to refuse
// (bad-header-name, whatever the action): it is an attack, not a header to drop quietly.
// A dropped header is gone for routing, hash keys and limits too, not only upstream.
bool apply_underscore_action(Head& head, config::HeadersWithUnderscores action, Error& error) {
  using Action = config::HeadersWithUnderscores;
  if (action == Action::allow) return true;
  auto droppable = [](const Header& h) {
    return h.name.find('_') != std::string_view::npos && !aliases_framing_field(h.name);
  };
  if (action == Action::drop) {
    std::erase_if(head.headers, droppable);
    return true;
  }
  for (const Header& h : head.headers)
    if (aliases_framing_field(h.name)) return true;
  for (const Header& h : head.headers) {
    if (droppable(h)) {
      error = Error{400, errc::underscore_header, "header name contains '_'"};
      return false;
    }
  }
  return true;
}

}  // namespace

bool finish_request(Head& head, config::HeadersWithUnderscores underscores, Error& error) {
  if (!check_version(head, error)) return false;
  if (head.method == "CONNECT") {
    // sluice is a reverse proxy: tunnels to arbitrary authorities are not offered.
    error = Error{501, errc::connect_unsupported, "CONNECT is not supported"};
    return false;
  }
  std::string_view authority;
  if (!check_target(head, authority, error)) return false;

  if (!apply_underscore_action(head, underscores, error)) return false;
  Fields f;
  if (!collect_fields(head, f, error)) return false;
  if (f.hosts > 1) {
    error = Error{400, errc::duplicate_host, "more than one Host header"};
    return false;
  }
  if (!f.host && head.version == 11) {
    error = Error{400, errc::missing_host, "HTTP/1.1 request without Host"};
    return false;
  }
  if (f.host) {
    // An empty Host is allowed only when the target has no authority to name.
    if (f.host->value.empty() ? !authority.empty() : !valid_authority(f.host->value)) {
      error = Error{400, errc::bad_host, "invalid Host header"};
      return false;
    }
    if (!authority.empty() && !iequals(authority, f.host->value)) {
      error = Error{400, errc::host_mismatch, "Host differs from the target's authority"};
      return false;
    }
    head.host = f.host->value;
  } else {
    head.host = authority;
  }
  if (!check_framing(head, f, error)) return false;
  head.framing = f.has_transfer_encoding ? Framing::chunked
                 : f.content_lengths     ? Framing::content_length
                                         : Framing::none;
  set_keep_alive(head, f);
  // HTTP/1.0 cannot upgrade or expect (RFC 9110 §7.8, §10.1.1): ignore both there.
  head.upgrade = head.version == 11 && f.conn_upgrade && f.upgrade_header;
  if (f.expect && head.version == 11) {
    if (!iequals(f.expect->value, "100-continue")) {
      error = Error{417, errc::unsupported_expectation, "only 100-continue is supported"};
      return false;
    }
    head.expect_continue = true;
  }
  return true;
}

bool finish_response(Head& head, bool head_request, Error& error) {
  if (!check_version(head, error)) return false;
  if (head.status < 100 || head.status > 599) {
    error = Error{502, errc::bad_status, "status code out of range"};
    return false;
  }
  Fields f;
  if (!collect_fields(head, f, error)) return false;
  if (!check_framing(head, f, error)) return false;
  const bool no_body =
      head_request || head.status / 100 == 1 || head.status == 204 || head.status == 304;
  if (no_body)
    head.framing = Framing::none;
  else if (f.has_transfer_encoding)
    head.framing = Framing::chunked;
  else if (f.content_lengths)
    head.framing = Framing::content_length;
  else
    head.framing = Framing::until_close;
  set_keep_alive(head, f);
  if (head.framing == Framing::until_close) head.keep_alive = false;
  head.upgrade = head.status == 101;
  return true;
}

}  // namespace sluice::proxy::http
