// The v1 text line: "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n" or "PROXY UNKNOWN...\r\n".
// Called by parse() (parser.hpp), whose contract it follows. Any thread.
#pragma once

#include <string_view>

#include "proxy/proxy_protocol/parser.hpp"

namespace sluice::proxy::proxy_protocol {

Result parse_v1(std::string_view bytes, Header& header);

}  // namespace sluice::proxy::proxy_protocol
