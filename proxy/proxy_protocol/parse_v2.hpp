// The v2 binary header: signature, command, family, addresses and TLVs (the CRC32C one
// verified). Called by parse() (parser.hpp), whose contract it follows. Any thread.
#pragma once

#include <string_view>

#include "proxy/proxy_protocol/parser.hpp"

namespace sluice::proxy::proxy_protocol {

Result parse_v2(std::string_view bytes, Header& header);

}  // namespace sluice::proxy::proxy_protocol
