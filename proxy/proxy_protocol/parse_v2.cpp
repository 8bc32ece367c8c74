#include "proxy/proxy_protocol/parse_v2.hpp"

#include <netinet/in.h>

#include <cstring>

#include "proxy/proxy_protocol/crc32c.hpp"
#include "proxy/proxy_protocol/tlv.hpp"

namespace sluice::proxy::proxy_protocol {
namespace {

Result malformed(const char* error) {
  return {Status::malformed, 0, error};
}

uint16_t be16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}

uint32_t be32(const char* p) {
  return (uint32_t{be16(p)} << 16) | be16(p + 2);
}

// The address block's size per address family (the high nibble of byte 13).
constexpr size_t kAddressSize[] = {0, 12, 36, 216};

void set_addresses(const char* block, int family, Header& header) {
  if (family == AF_INET) {
    auto& src = reinterpret_cast<sockaddr_in&>(header.source);
    auto& dst = reinterpret_cast<sockaddr_in&>(header.destination);
    src.sin_family = dst.sin_family = AF_INET;
    std::memcpy(&src.sin_addr, block, 4);
    std::memcpy(&dst.sin_addr, block + 4, 4);
    std::memcpy(&src.sin_port, block + 8, 2);  // both in network order already
    std::memcpy(&dst.sin_port, block + 10, 2);
    return;
  }
  auto& src = reinterpret_cast<sockaddr_in6&>(header.source);
  auto& dst = reinterpret_cast<sockaddr_in6&>(header.destination);
  src.sin6_family = dst.sin6_family = AF_INET6;
  std::memcpy(&src.sin6_addr, block, 16);
  std::memcpy(&dst.sin6_addr, block + 16, 16);
  std::memcpy(&src.sin6_port, block + 32, 2);
  std::memcpy(&dst.sin6_port, block + 34, 2);
}

// The SSL TLV's value: client bits, verify result, then sub-TLVs.
const char* parse_ssl(std::string_view value, Ssl& ssl) {
  if (value.size() < 5) return "v2 SSL TLV shorter than 5 bytes";
  ssl.client = static_cast<uint8_t>(value[0]);
  ssl.verify = be32(value.data() + 1);
  std::string_view rest = value.substr(5);
  while (!rest.empty()) {
    if (rest.size() < 3) return "v2 SSL sub-TLV truncated";
    const auto type = static_cast<uint8_t>(rest[0]);
    const size_t length = be16(rest.data() + 1);
    if (rest.size() < 3 + length) return "v2 SSL sub-TLV truncated";
    const std::string_view sub = rest.substr(3, length);
    if (type == kSubtypeSslVersion) ssl.version = sub;
    if (type == kSubtypeSslCipher) ssl.cipher = sub;
    if (type == kSubtypeSslCn) ssl.cn = sub;
    rest.remove_prefix(3 + length);
  }
  return nullptr;
}

// The TLVs after the address block, `offset` bytes into the header `all`.
const char* parse_tlvs(std::string_view all, size_t offset, Header& header) {
  while (offset < all.size()) {
    if (all.size() - offset < 3) return "v2 TLV truncated";
    const auto type = static_cast<uint8_t>(all[offset]);
    const size_t length = be16(all.data() + offset + 1);
    const size_t value_at = offset + 3;
    if (all.size() - value_at < length) return "v2 TLV truncated";
    const std::string_view value = all.substr(value_at, length);
    switch (type) {
      case kTypeAlpn:
        header.alpn = value;
        break;
      case kTypeAuthority:
        header.authority = value;
        break;
      case kTypeCrc32c: {
        if (length != 4) return "v2 CRC32C TLV is not 4 bytes";
        if (header.checksummed) return "v2 header has two CRC32C TLVs";
        // The checksum covers the whole header with its own value taken as zero.
        static constexpr char kZero[4] = {};
        uint32_t crc = crc32c(all.substr(0, value_at));
        crc = crc32c(std::string_view(kZero, 4), crc);
        crc = crc32c(all.substr(value_at + 4), crc);
        if (crc != be32(value.data())) return "v2 CRC32C checksum does not match";
        header.checksummed = true;
        break;
      }
      case kTypeSsl:
        if (const char* error = parse_ssl(value, header.ssl)) return error;
        header.has_ssl = true;
        break;
      default:  // NOOP, UNIQUE_ID, NETNS and custom ones: not ours to judge
        break;
    }
    offset = value_at + length;
  }
  return nullptr;
}

}  // namespace

Result parse_v2(std::string_view bytes, Header& header) {
  const size_t prefix = std::min(bytes.size(), kV2Signature.size());
  if (bytes.substr(0, prefix) != kV2Signature.substr(0, prefix))
    return malformed("not a PROXY protocol header");
  if (bytes.size() > 12 && (static_cast<uint8_t>(bytes[12]) >> 4) != 2)
    return malformed("v2 header of an unknown version");
  const unsigned command = bytes.size() > 12 ? static_cast<uint8_t>(bytes[12]) & 0x0f : 0;
  if (command > 1) return malformed("v2 command is neither LOCAL nor PROXY");
  const unsigned family = bytes.size() > 13 ? static_cast<uint8_t>(bytes[13]) >> 4 : 0;
  const unsigned transport = bytes.size() > 13 ? static_cast<uint8_t>(bytes[13]) & 0x0f : 0;
  if (family > 3) return malformed("v2 address family unknown");
  if (transport > 2) return malformed("v2 transport protocol unknown");
  if (bytes.size() < kV2FixedLength) return {};
  const size_t length = kV2FixedLength + be16(bytes.data() + 14);
  if (length > kV2MaxLength) return malformed("v2 header longer than 4096 bytes");
  if (length - kV2FixedLength < kAddressSize[family])
    return malformed("v2 header too short for its addresses");
  if (bytes.size() < length) return {};

  header = Header{};
  header.version = Version::v2;
  header.local = command == 0;
  // Only TCP over IPv4 or IPv6 names a client sluice can use; LOCAL, UNSPEC, UNIX and UDP
  // keep the socket's own addresses, as HAProxy does.
  if (!header.local && transport == 1 && (family == 1 || family == 2))
    set_addresses(bytes.data() + kV2FixedLength, family == 1 ? AF_INET : AF_INET6, header);
  if (const char* error =
          parse_tlvs(bytes.substr(0, length), kV2FixedLength + kAddressSize[family], header)) {
    header = Header{};
    return malformed(error);
  }
  return {Status::complete, length, nullptr};
}

}  // namespace sluice::proxy::proxy_protocol
