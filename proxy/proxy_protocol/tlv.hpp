// The v2 TLV type numbers sluice reads and writes (spec section 2.2). Any thread.
#pragma once

#include <cstdint>

namespace sluice::proxy::proxy_protocol {

inline constexpr uint8_t kTypeAlpn = 0x01;
inline constexpr uint8_t kTypeAuthority = 0x02;
inline constexpr uint8_t kTypeCrc32c = 0x03;
inline constexpr uint8_t kTypeNoop = 0x04;
inline constexpr uint8_t kTypeSsl = 0x20;
inline constexpr uint8_t kSubtypeSslVersion = 0x21;
inline constexpr uint8_t kSubtypeSslCn = 0x22;
inline constexpr uint8_t kSubtypeSslCipher = 0x23;

}  // namespace sluice::proxy::proxy_protocol
