#include "proxy/proxy_protocol/crc32c.hpp"

#include <array>

namespace sluice::proxy::proxy_protocol {
namespace {

// Byte-at-a-time table for the reflected polynomial 0x82F63B78. A header is checked once
// per connection and is a few dozen bytes: a table is plenty, and needs no CPU feature.
constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kTable = make_table();

}  // namespace

uint32_t crc32c(std::string_view bytes, uint32_t crc) {
  crc = ~crc;
  for (unsigned char b : bytes) crc = kTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

}  // namespace sluice::proxy::proxy_protocol
