// libFuzzer target for the health probe's response reader (proxy/control/health/
// response_head, Beast's parser underneath): what a checked backend (or whatever answers on
// its port) sends, from any bytes, in pieces whose size the first byte picks. Never a crash,
// a hang or an exception; pieces must give the same verdict and status as one read, a status
// is three digits (Beast takes any, "020" too: the probe's expected ranges judge it), and a
// verdict once reached does not change.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/control/health/response_head.hpp"

using sluice::proxy::health::ResponseHead;
using State = ResponseHead::State;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = size_t{data[0]} + 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  ResponseHead whole;
  State one_read = whole.feed(bytes);
  if (one_read == State::need_more) one_read = whole.eof();

  ResponseHead pieces;
  State verdict = State::need_more;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    const State before = verdict;
    verdict = pieces.feed(bytes.substr(at, piece));
    if (before != State::need_more) check(verdict == before);
  }
  if (verdict == State::need_more) verdict = pieces.eof();
  check(verdict != State::need_more);
  check(pieces.eof() == verdict);

  check(verdict == one_read);
  if (verdict == State::done) {
    check(pieces.status() == whole.status());
    check(pieces.status() >= 0 && pieces.status() <= 999);
  } else {
    check(!pieces.error().empty());
  }
  return 0;
}
