// CRC-32C (Castagnoli), the checksum of a v2 header's PP2_TYPE_CRC32C TLV. Any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::proxy::proxy_protocol {

// Continues `crc` (0 to start) over `bytes`.
uint32_t crc32c(std::string_view bytes, uint32_t crc = 0);

}  // namespace sluice::proxy::proxy_protocol
