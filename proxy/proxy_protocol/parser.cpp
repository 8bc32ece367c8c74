#include "proxy/proxy_protocol/parser.hpp"

#include "proxy/proxy_protocol/parse_v1.hpp"
#include "proxy/proxy_protocol/parse_v2.hpp"

namespace sluice::proxy::proxy_protocol {

Result parse(std::string_view bytes, Header& header) {
  if (bytes.empty()) return {};
  // The two versions differ in their first byte ('P' and '\r'), so one is enough to choose.
  if (bytes[0] == kV2Signature[0]) return parse_v2(bytes, header);
  return parse_v1(bytes, header);
}

}  // namespace sluice::proxy::proxy_protocol
