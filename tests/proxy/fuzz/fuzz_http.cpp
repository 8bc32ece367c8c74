// libFuzzer target for the HTTP/1.1 codec's heads (proxy/l7/h1/). Besides "no crash, no
// UB, no leak" it checks the properties the proxy relies on:
//  - the result of HeadParser and BodyScanner does not depend on how the bytes are split;
//  - consumed counts stay within the input;
//  - every head sluice accepts serializes to a head its own strict parser accepts with the
//    same method, path, query and framing (what we forward is unambiguous), with
//    Content-Length in canonical decimal and, unless headers_with_underscores is allow,
//    no header name holding '_'.
// Input: byte 0 = mode (bit 0: response, bit 1: response to HEAD, bits 2-3: the request's
// headers_with_underscores: allow, reject, drop, drop), byte 1 = split step, the rest = the
// message bytes (a head, then whatever follows it: body, next message).
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/l7/h1/body_scanner.hpp"
#include "proxy/l7/h1/head_parser.hpp"
#include "proxy/l7/h1/route.hpp"
#include "proxy/l7/h1/serialize.hpp"

namespace http = sluice::proxy::http;
using sluice::config::HeadersWithUnderscores;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct Outcome {
  http::Status status;
  size_t end = 0;
  std::string_view code;
};

// Feeds `input` in pieces of `step` bytes (0: whole).
template <class P>
Outcome run(P& p, std::string_view input, size_t step) {
  size_t offset = 0;
  for (;;) {
    const size_t len = step ? std::min(step, input.size() - offset) : input.size() - offset;
    size_t consumed = 0;
    const http::Status s = p.feed(input.substr(offset, len), consumed);
    check(consumed <= len);
    if (s == http::Status::done) return {s, offset + consumed, {}};
    if (s == http::Status::error) return {s, 0, p.error().code};
    check(consumed == len);
    offset += len;
    if (offset >= input.size()) return {s, 0, {}};
  }
}

bool same(const Outcome& a, const Outcome& b) {
  return a.status == b.status && a.end == b.end && a.code == b.code;
}

// A re-parsed head says what a next hop reads: Content-Length without leading zeros.
void check_canonical_length(const http::Head& h) {
  const http::Header* cl = h.find("content-length");
  if (cl == nullptr) return;
  char digits[24];
  const char* end = std::to_chars(digits, digits + sizeof digits, h.content_length).ptr;
  check(cl->value == std::string_view(digits, static_cast<size_t>(end - digits)));
}

void round_trip_request(const http::Head& head, HeadersWithUnderscores underscores) {
  http::ForwardContext ctx{"192.0.2.1", "https", "fuzz-id"};
  ctx.upgrade = head.upgrade;
  std::string out;
  http::serialize_request(head, ctx, out);
  size_t consumed = 0;
  // Leave room: forwarding adds headers, so the default limits could be exceeded. Allow
  // underscores, to see what was really written.
  auto big = http::HeadParser::request(http::Limits{1 << 16, 1 << 20, 1000},
                                       http::RequestOptions{HeadersWithUnderscores::allow});
  check(big.feed(out, consumed) == http::Status::done);
  check(consumed == out.size());
  const http::Head& h = big.head();
  check(h.method == head.method && h.path == head.path && h.query == head.query);
  check(h.has_query == head.has_query);
  check(h.framing == head.framing && h.content_length == head.content_length);
  check(h.upgrade == head.upgrade);
  check_canonical_length(h);
  if (underscores != HeadersWithUnderscores::allow)
    for (const http::Header& f : h.headers) check(f.name.find('_') == std::string_view::npos);
}

void round_trip_response(const http::Head& head, bool head_request) {
  for (bool dechunk : {false, true}) {
    if (dechunk && head.framing != http::Framing::chunked) continue;
    std::string out;
    http::serialize_response(head, true, out, dechunk);
    auto again = http::HeadParser::response(http::Limits{1 << 16, 1 << 20, 1000},
                                            head_request ? "HEAD" : "GET");
    size_t consumed = 0;
    check(again.feed(out, consumed) == http::Status::done);
    check(consumed == out.size());
    check(again.head().status == head.status);
    check(again.head().framing == (dechunk ? http::Framing::until_close : head.framing));
    check_canonical_length(again.head());
  }
}

struct Payload {
  std::string_view input;
  std::string bytes;
};

void collect(void* context, size_t offset, size_t length) {
  auto* p = static_cast<Payload*>(context);
  check(offset <= p->input.size() && length <= p->input.size() - offset);
  p->bytes.append(p->input.substr(offset, length));
}

// Scans `body` in pieces of `step` bytes, collecting the de-chunked payload.
Outcome scan_body(const http::Head& head, std::string_view body, size_t step,
                  std::string& payload) {
  http::BodyScanner scanner(head);
  Payload p;
  scanner.set_payload_sink(&collect, &p);
  size_t offset = 0;
  for (;;) {
    const size_t len = step ? std::min(step, body.size() - offset) : body.size() - offset;
    p.input = body.substr(offset, len);
    size_t consumed = 0;
    const http::Status s = scanner.feed(p.input, consumed);
    check(consumed <= len);
    if (s != http::Status::need_more || offset + len >= body.size()) {
      payload = std::move(p.bytes);
      if (s == http::Status::done) return {s, offset + consumed, {}};
      if (s == http::Status::error) return {s, 0, scanner.error().code};
      return {s, 0, {}};
    }
    offset += len;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool response = data[0] & 1;
  const bool head_request = data[0] & 2;
  const unsigned action = (data[0] >> 2) & 3;
  const auto underscores = action == 0   ? HeadersWithUnderscores::allow
                           : action == 1 ? HeadersWithUnderscores::reject
                                         : HeadersWithUnderscores::drop;
  const size_t step = 1 + data[1] % 16;
  const std::string input(reinterpret_cast<const char*>(data) + 2, size - 2);

  auto make = [&] {
    return response ? http::HeadParser::response({}, head_request ? "HEAD" : "GET")
                    : http::HeadParser::request({}, http::RequestOptions{underscores});
  };
  auto whole = make();
  const Outcome a = run(whole, input, 0);
  auto pieces = make();
  const Outcome b = run(pieces, input, step);
  check(same(a, b));
  if (a.status != http::Status::done) return 0;

  const http::Head& head = whole.head();
  check(head.version == 10 || head.version == 11);
  check(!(head.framing == http::Framing::until_close && head.is_request));
  if (response)
    round_trip_response(head, head_request);
  else
    round_trip_request(head, underscores);

  static const std::vector<sluice::config::Route> routes = [] {
    std::vector<sluice::config::Route> r(3);
    r[0].match.host = "*.example.com";
    r[0].match.path_prefix = "/v1/";
    r[1].match.methods = {"POST"};
    r[1].match.headers = {{"x-canary", std::string("1")}};
    r[2].match.path_exact = "/";
    return r;
  }();
  if (!response) (void)http::match_route(routes, head);

  // The body after the head, scanned whole and in pieces: same end, same payload.
  const std::string_view rest = std::string_view(input).substr(a.end);
  std::string payload_whole, payload_pieces;
  const Outcome c = scan_body(head, rest, 0, payload_whole);
  const Outcome d = scan_body(head, rest, step, payload_pieces);
  check(same(c, d));
  check(c.end <= rest.size());
  if (c.status == http::Status::done) check(payload_whole == payload_pieces);
  std::string err;
  if (c.status == http::Status::error) http::error_response(400, c.code, false, err);
  return 0;
}
