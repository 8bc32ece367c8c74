#include "proxy/l7/h1/serialize.hpp"

#include <ostream>  // boost::core::string_view needs it before Beast's status.hpp

#include <boost/beast/http/status.hpp>
#include <charconv>

#include "proxy/l7/h1/chars.hpp"

namespace sluice::proxy::http {

namespace {

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += value.empty() ? ":" : ": ";
  out += value;
  out += "\r\n";
}

// Writes a header of `head` on. Content-Length goes out in canonical decimal: the parser
// took "010" as ten, but a next hop parsing with strtoll(..., 0) reads 8 and frames the
// body differently (the bytes themselves are forwarded verbatim).
void append_field(std::string& out, const Head& head, const Header& h) {
  if (!iequals(h.name, "content-length")) {
    append_header(out, h.name, h.value);
    return;
  }
  char digits[24];
  const char* end = std::to_chars(digits, digits + sizeof digits, head.content_length).ptr;
  append_header(out, h.name, std::string_view(digits, static_cast<size_t>(end - digits)));
}

// Whether a Connection header of `head` lists `name` as a token.
bool named_by_connection(const Head& head, std::string_view name) {
  for (const Header& h : head.headers) {
    if (!iequals(h.name, "connection")) continue;
    std::string_view list = h.value;
    for (;;) {
      const size_t comma = list.find(',');
      std::string_view e = list.substr(0, comma);
      while (!e.empty() && chars::is_ows(e.front())) e.remove_prefix(1);
      while (!e.empty() && chars::is_ows(e.back())) e.remove_suffix(1);
      if (iequals(e, name)) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return false;
}

// Hop-by-hop for both directions. A Connection header may not strip Host or the
// framing fields: the body that follows is forwarded verbatim and needs them.
bool is_hop_by_hop(const Head& head, std::string_view name, bool keep_upgrade) {
  if (iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "te") ||
      iequals(name, "trailer") || iequals(name, "proxy") || istarts_with(name, "proxy-"))
    return true;
  if (iequals(name, "upgrade")) return !keep_upgrade;
  if (iequals(name, "host") || iequals(name, "content-length") ||
      iequals(name, "transfer-encoding"))
    return false;
  return named_by_connection(head, name);
}

bool dropped(const HeaderEdits& edits, std::string_view name) {
  if (edits.drop == nullptr) return false;
  for (const std::string& d : *edits.drop)
    if (iequals(d, name)) return true;
  return false;
}

size_t head_size_hint(const Head& head) {
  size_t n = 256 + head.target.size() + head.reason.size();
  for (const Header& h : head.headers) n += h.name.size() + h.value.size() + 4;
  return n;
}

}  // namespace

void serialize_request(const Head& head, const ForwardContext& ctx, std::string& out) {
  out.reserve(out.size() + head_size_hint(head) + ctx.client_ip.size() + ctx.request_id.size() +
              ctx.edits.lines.size() + ctx.path.size() + ctx.host.size());
  out += head.method;
  out += ' ';
  out += ctx.path.empty() ? head.path : ctx.path;
  if (head.has_query) {
    out += '?';
    out += head.query;
  }
  out += " HTTP/1.1\r\n";

  bool has_host = false, has_request_id = false, has_xff = false;
  for (const Header& h : head.headers) {
    if (is_hop_by_hop(head, h.name, ctx.upgrade)) continue;
    if (!ctx.drop.empty() && iequals(h.name, ctx.drop)) continue;
    // Ours replace what the client claims; earlier hops of X-Forwarded-For are kept below.
    if (iequals(h.name, "x-forwarded-for")) {
      has_xff = true;
      continue;
    }
    if (iequals(h.name, "x-forwarded-proto") || iequals(h.name, "x-forwarded-host")) continue;
    if (!ctx.client_subject_header.empty() && iequals(h.name, ctx.client_subject_header)) continue;
    // An HTTP/1.0 expectation was ignored (RFC 9110 §10.1.1); sent on as 1.1 it would not be.
    if (head.version == 10 && iequals(h.name, "expect")) continue;
    if (dropped(ctx.edits, h.name)) continue;
    if (iequals(h.name, "x-request-id")) has_request_id = true;
    if (iequals(h.name, "host")) {
      has_host = true;
      if (!ctx.host.empty()) {
        append_header(out, h.name, ctx.host);
        continue;
      }
    }
    append_field(out, head, h);
  }
  if (!has_host) append_header(out, "Host", ctx.host.empty() ? head.host : ctx.host);
  out += ctx.edits.lines;

  out += "X-Forwarded-For: ";
  bool first = true;
  if (has_xff) {
    for (const Header& h : head.headers) {
      if (!iequals(h.name, "x-forwarded-for") || h.value.empty()) continue;
      if (!first) out += ", ";
      out += h.value;
      first = false;
    }
  }
  if (!ctx.client_ip.empty()) {
    if (!first) out += ", ";
    out += ctx.client_ip;
  }
  out += "\r\n";
  append_header(out, "X-Forwarded-Proto", ctx.proto);
  if (!head.host.empty()) append_header(out, "X-Forwarded-Host", head.host);
  if (!ctx.client_subject_header.empty() && !ctx.client_subject.empty())
    append_header(out, ctx.client_subject_header, ctx.client_subject);
  if (!has_request_id && !ctx.request_id.empty())
    append_header(out, "X-Request-Id", ctx.request_id);
  out += ctx.extra_headers;
  if (ctx.upgrade)
    out += "Connection: upgrade\r\n";
  else if (!ctx.keep_alive)
    out += "Connection: close\r\n";
  out += "\r\n";
}

void serialize_response(const Head& head, bool keep_alive, std::string& out, bool dechunk,
                        const HeaderEdits& edits, std::string_view extra_headers) {
  out.reserve(out.size() + head_size_hint(head) + edits.lines.size() + extra_headers.size());
  out += "HTTP/1.1 ";
  out += std::to_string(head.status);
  out += ' ';
  out += head.reason;
  out += "\r\n";
  const bool switching = head.status == 101;
  for (const Header& h : head.headers) {
    if (is_hop_by_hop(head, h.name, switching)) continue;
    if (dechunk && iequals(h.name, "transfer-encoding")) continue;
    if (dropped(edits, h.name)) continue;
    append_field(out, head, h);
  }
  out += edits.lines;
  out += extra_headers;
  if (switching)
    out += "Connection: upgrade\r\n";
  else if (head.status >= 200)
    out += keep_alive && !dechunk && head.framing != Framing::until_close
               ? "Connection: keep-alive\r\n"
               : "Connection: close\r\n";
  out += "\r\n";
}

std::string_view reason_phrase(int status) {
  namespace bh = boost::beast::http;
  if (status < 100 || status > 999) return "Unknown";
  const auto s = bh::int_to_status(static_cast<unsigned>(status));
  if (s == bh::status::unknown) return "Unknown";
  const auto r = bh::obsolete_reason(s);
  return {r.data(), r.size()};
}

namespace {

// Whether complete header lines hold a Content-Type (a fallback response's own).
bool has_content_type(std::string_view lines) {
  while (!lines.empty()) {
    if (istarts_with(lines, "content-type:")) return true;
    const size_t end = lines.find("\r\n");
    if (end == std::string_view::npos) break;
    lines.remove_prefix(end + 2);
  }
  return false;
}

// Status line, optional x-sluice-error, extra lines, framing, body.
void short_response(int status, std::string_view code, bool keep_alive, std::string& out,
                    std::string_view body, std::string_view extra_headers, bool head_only) {
  const std::string_view reason = reason_phrase(status);
  out.reserve(out.size() + 160 + code.size() * 2 + body.size() + extra_headers.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason;
  out += "\r\n";
  if (!code.empty()) append_header(out, "x-sluice-error", code);
  out += extra_headers;
  if (!has_content_type(extra_headers)) out += "Content-Type: text/plain\r\n";
  out += "Content-Length: ";
  out += std::to_string(body.size());
  out += "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only) out += body;  // a response to HEAD has the length but no body
}

}  // namespace

void error_response(int status, std::string_view code, bool keep_alive, std::string& out,
                    std::string_view body, std::string_view extra_headers, bool head_only) {
  if (!body.empty()) {
    short_response(status, code, keep_alive, out, body, extra_headers, head_only);
    return;
  }
  std::string text(code);
  text += '\n';
  short_response(status, code, keep_alive, out, text, extra_headers, head_only);
}

void direct_response(int status, std::string_view body, bool keep_alive, std::string& out,
                     bool head_only, std::string_view extra_headers) {
  short_response(status, {}, keep_alive, out, body, extra_headers, head_only);
}

}  // namespace sluice::proxy::http
