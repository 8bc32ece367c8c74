// libFuzzer target for chunked bodies (BodyScanner), both directions, trailers included,
// fed directly so that every input exercises the chunk grammar rather than a head first.
// Checks, besides "no crash, no UB":
//  - status, end offset, error code, payload bytes and the payload delivered through the
//    sink (what an HTTP/1.0 client gets de-chunked) do not depend on the split;
//  - sink offsets stay inside the input of the call that reported them;
//  - an accepted body's payload, chunked again canonically, is accepted with the same payload;
//  - an accepted trailer section holds no Content-Length, Transfer-Encoding or Host (nor a
//    look-alike), which a next hop could act on;
//  - the error status follows the direction (4xx for requests, 502 for responses).
// Input: byte 0 = bit 0: response; bits 1-3: max trailer fields - 1; bits 4-7: trailer
// section limit in 32-byte units - 1. Byte 1 = split step. The rest = the body bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/l7/h1/body_scanner.hpp"
#include "proxy/l7/h1/field_names.hpp"

namespace http = sluice::proxy::http;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct Run {
  http::Status status = http::Status::need_more;
  size_t end = 0;
  std::string_view code;
  int error_status = 0;
  uint64_t body_bytes = 0;
  std::string payload;
};

struct Sink {
  std::string_view input;
  std::string* payload;
};

void collect(void* context, size_t offset, size_t length) {
  auto* s = static_cast<Sink*>(context);
  check(offset <= s->input.size() && length <= s->input.size() - offset);
  s->payload->append(s->input.substr(offset, length));
}

Run scan(const http::Head& head, const http::Limits& limits, std::string_view body, size_t step) {
  Run r;
  http::BodyScanner scanner(head, limits);
  Sink sink{{}, &r.payload};
  scanner.set_payload_sink(&collect, &sink);
  size_t offset = 0;
  for (;;) {
    const size_t len = step ? std::min(step, body.size() - offset) : body.size() - offset;
    sink.input = body.substr(offset, len);
    size_t consumed = 0;
    r.status = scanner.feed(sink.input, consumed);
    check(consumed <= len);
    r.body_bytes = scanner.body_bytes();
    if (r.status == http::Status::done) {
      r.end = offset + consumed;
      return r;
    }
    if (r.status == http::Status::error) {
      r.code = scanner.error().code;
      r.error_status = scanner.error().status;
      return r;
    }
    check(consumed == len);
    offset += len;
    if (offset >= body.size()) return r;
  }
}

// The trailer section of an accepted body: after the last chunk's size line ("0...CRLF"),
// up to the final CRLF. The scanner accepted it, so its lines are well formed.
void check_trailers(std::string_view body) {
  size_t at = 0;
  for (;;) {
    const size_t eol = body.find("\r\n", at);
    check(eol != std::string_view::npos);
    uint64_t size = 0;
    for (size_t i = at; i < eol && body[i] != ';'; ++i)
      size = size << 4 | static_cast<uint64_t>(http::chars::hex_value(body[i]));
    at = eol + 2;
    if (size == 0) break;
    at += size + 2;
  }
  while (body.substr(at, 2) != "\r\n") {
    const size_t colon = body.find(':', at);
    const size_t eol = body.find("\r\n", at);
    check(colon != std::string_view::npos && colon < eol);
    check(!http::is_framing_name_or_lookalike(body.substr(at, colon - at)));
    at = eol + 2;
  }
}

std::string rechunk(std::string_view payload, size_t piece) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t at = 0; at < payload.size(); at += piece) {
    const std::string_view part = payload.substr(at, piece);
    std::string size;
    for (size_t n = part.size(); n; n >>= 4) size.insert(size.begin(), kHex[n & 15]);
    out += size + "\r\n";
    out += part;
    out += "\r\n";
  }
  return out + "0\r\n\r\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  http::Head head;
  head.is_request = !(data[0] & 1);
  head.framing = http::Framing::chunked;
  const http::Limits limits{8192, 32u * (1u + (data[0] >> 4)), 1u + ((data[0] >> 1) & 7)};
  const size_t step = 1 + data[1] % 16;
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Run whole = scan(head, limits, body, 0);
  const Run pieces = scan(head, limits, body, step);
  const Run bytes = scan(head, limits, body, 1);
  for (const Run* r : {&pieces, &bytes}) {
    check(r->status == whole.status && r->end == whole.end && r->code == whole.code);
    check(r->payload == whole.payload && r->body_bytes == whole.body_bytes);
  }
  check(whole.payload.size() == whole.body_bytes);
  if (whole.status == http::Status::error)
    check(head.is_request ? whole.error_status >= 400 && whole.error_status < 500
                          : whole.error_status == 502);
  if (whole.status != http::Status::done) return 0;
  check(whole.end <= body.size());
  check_trailers(body.substr(0, whole.end));
  const std::string again = rechunk(whole.payload, 1 + data[1] % 7);
  const Run canonical = scan(head, limits, again, 0);
  check(canonical.status == http::Status::done && canonical.end == again.size());
  check(canonical.payload == whole.payload);
  return 0;
}
