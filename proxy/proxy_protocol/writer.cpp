#include "proxy/proxy_protocol/writer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "proxy/proxy_protocol/crc32c.hpp"
#include "proxy/proxy_protocol/parser.hpp"
#include "proxy/proxy_protocol/tlv.hpp"

namespace sluice::proxy::proxy_protocol {
namespace {

// The family both addresses share, or AF_UNSPEC.
int common_family(const Header& h) {
  const int family = h.source.ss_family;
  if (family != h.destination.ss_family) return AF_UNSPEC;
  return family == AF_INET || family == AF_INET6 ? family : AF_UNSPEC;
}

std::string write_v1(const Header& h) {
  const int family = common_family(h);
  if (family == AF_UNSPEC) return "PROXY UNKNOWN\r\n";
  char src[INET6_ADDRSTRLEN];
  char dst[INET6_ADDRSTRLEN];
  uint16_t sport;
  uint16_t dport;
  if (family == AF_INET) {
    const auto& s = reinterpret_cast<const sockaddr_in&>(h.source);
    const auto& d = reinterpret_cast<const sockaddr_in&>(h.destination);
    inet_ntop(AF_INET, &s.sin_addr, src, sizeof src);
    inet_ntop(AF_INET, &d.sin_addr, dst, sizeof dst);
    sport = ntohs(s.sin_port);
    dport = ntohs(d.sin_port);
  } else {
    const auto& s = reinterpret_cast<const sockaddr_in6&>(h.source);
    const auto& d = reinterpret_cast<const sockaddr_in6&>(h.destination);
    inet_ntop(AF_INET6, &s.sin6_addr, src, sizeof src);
    inet_ntop(AF_INET6, &d.sin6_addr, dst, sizeof dst);
    sport = ntohs(s.sin6_port);
    dport = ntohs(d.sin6_port);
  }
  std::string line = family == AF_INET ? "PROXY TCP4 " : "PROXY TCP6 ";
  line.append(src).append(" ").append(dst).append(" ");
  line.append(std::to_string(sport)).append(" ").append(std::to_string(dport)).append("\r\n");
  return line;
}

void put16(std::string& out, size_t value) {
  out.push_back(static_cast<char>((value >> 8) & 0xff));
  out.push_back(static_cast<char>(value & 0xff));
}

void put32(std::string& out, uint32_t value) {
  put16(out, value >> 16);
  put16(out, value & 0xffff);
}

void put_tlv(std::string& out, uint8_t type, std::string_view value) {
  out.push_back(static_cast<char>(type));
  put16(out, value.size());
  out.append(value);
}

std::string ssl_value(const Ssl& ssl) {
  std::string value;
  value.push_back(static_cast<char>(ssl.client));
  put32(value, ssl.verify);
  if (!ssl.version.empty()) put_tlv(value, kSubtypeSslVersion, ssl.version);
  if (!ssl.cipher.empty()) put_tlv(value, kSubtypeSslCipher, ssl.cipher);
  if (!ssl.cn.empty()) put_tlv(value, kSubtypeSslCn, ssl.cn);
  return value;
}

std::string write_v2(const Header& h) {
  const int family = common_family(h);
  std::string out(kV2Signature);
  out.push_back(h.local ? '\x20' : '\x21');
  out.push_back(family == AF_INET ? '\x11' : family == AF_INET6 ? '\x21' : '\x00');
  put16(out, 0);  // the length, filled in below
  if (family == AF_INET) {
    const auto& s = reinterpret_cast<const sockaddr_in&>(h.source);
    const auto& d = reinterpret_cast<const sockaddr_in&>(h.destination);
    out.append(reinterpret_cast<const char*>(&s.sin_addr), 4);
    out.append(reinterpret_cast<const char*>(&d.sin_addr), 4);
    out.append(reinterpret_cast<const char*>(&s.sin_port), 2);
    out.append(reinterpret_cast<const char*>(&d.sin_port), 2);
  } else if (family == AF_INET6) {
    const auto& s = reinterpret_cast<const sockaddr_in6&>(h.source);
    const auto& d = reinterpret_cast<const sockaddr_in6&>(h.destination);
    out.append(reinterpret_cast<const char*>(&s.sin6_addr), 16);
    out.append(reinterpret_cast<const char*>(&d.sin6_addr), 16);
    out.append(reinterpret_cast<const char*>(&s.sin6_port), 2);
    out.append(reinterpret_cast<const char*>(&d.sin6_port), 2);
  }
  if (!h.alpn.empty()) put_tlv(out, kTypeAlpn, h.alpn);
  if (!h.authority.empty()) put_tlv(out, kTypeAuthority, h.authority);
  if (h.has_ssl) put_tlv(out, kTypeSsl, ssl_value(h.ssl));
  const size_t crc_at = out.size() + 3;
  put_tlv(out, kTypeCrc32c, std::string_view("\0\0\0\0", 4));
  const size_t length = out.size() - kV2FixedLength;
  out[14] = static_cast<char>(length >> 8);
  out[15] = static_cast<char>(length & 0xff);
  const uint32_t crc = crc32c(out);  // over the header with the checksum still zero
  for (int i = 0; i < 4; ++i) out[crc_at + i] = static_cast<char>(crc >> (24 - 8 * i));
  return out;
}

}  // namespace

std::string write(const Header& header) {
  return header.version == Version::v1 ? write_v1(header) : write_v2(header);
}

}  // namespace sluice::proxy::proxy_protocol
