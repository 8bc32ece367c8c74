// libFuzzer target for what the etcd source reads off the network (proxy/control/discovery/
// etcd_codec, endpoint_value): a range answer, a stream of watch lines and the JSON endpoint
// values inside keys, from any bytes. None may crash, hang or throw; an answer without error
// is at a real revision, an error has a text, a decoded endpoint is an address the data path
// can use, and base64 decodes what it encodes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/scalars.hpp"
#include "proxy/control/discovery/endpoint_value.hpp"
#include "proxy/control/discovery/etcd_codec.hpp"

namespace etcd = sluice::proxy::discovery::etcd;
using sluice::proxy::discovery::EndpointValue;
using sluice::proxy::discovery::parse_endpoint_value;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_endpoint_value(std::string_view text) {
  const EndpointValue v = parse_endpoint_value(text);
  if (!v.endpoint) {
    check(!v.error.empty());
    return;
  }
  check(v.error.empty());
  check(static_cast<bool>(sluice::config::parse_address(v.endpoint->address)));
  // inet_pton reads a C string: what follows a NUL would ride along unchecked.
  check(v.endpoint->address.find('\0') == std::string::npos);
  check(v.endpoint->weight >= 1 && v.endpoint->weight <= 65535);
}

void check_watch_line(std::string_view line) {
  const etcd::WatchMessage m = etcd::parse_watch_line(line);
  using Kind = etcd::WatchMessage::Kind;
  if (m.kind == Kind::compacted) check(m.compact_revision > 0);
  if (m.kind == Kind::error) check(!m.error.empty());
  // The source stores each put's value as an endpoint: decode it as it would.
  for (const auto& e : m.events)
    if (e.put) check_endpoint_value(e.kv.value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const etcd::RangeAnswer range = etcd::parse_range_answer(text);
  if (range.error.empty()) {
    check(range.revision > 0);
    for (const auto& kv : range.kvs) check_endpoint_value(kv.value);
  }

  // The watch stream is read line by line, as the source splits it.
  size_t begin = 0;
  for (size_t end; (end = text.find('\n', begin)) != std::string_view::npos; begin = end + 1)
    check_watch_line(text.substr(begin, end - begin));
  check_watch_line(text.substr(begin));

  check_endpoint_value(text);

  if (const auto decoded = etcd::base64_decode(text)) {
    check(decoded->size() <= text.size() / 4 * 3);
    check(etcd::base64_decode(etcd::base64_encode(*decoded)) == *decoded);
  }
  const std::string encoded = etcd::base64_encode(text);
  check(encoded.size() % 4 == 0);
  check(etcd::base64_decode(encoded) == std::string(text));
  return 0;
}
