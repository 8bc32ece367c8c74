// What a PROXY protocol header (v1 text or v2 binary, haproxy.org/download/2.9/doc/
// proxy-protocol.txt) says about the connection behind it, as the parser fills it and the
// writer reads it. Plain data; any thread.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace sluice::proxy::proxy_protocol {

enum class Version : uint8_t { v1 = 1, v2 = 2 };

// PP2_CLIENT_* bits of the SSL TLV's `client` field.
inline constexpr uint8_t kClientSsl = 0x01;
inline constexpr uint8_t kClientCertConn = 0x02;
inline constexpr uint8_t kClientCertSess = 0x04;

// The PP2_TYPE_SSL TLV: what the sender's TLS termination knew.
struct Ssl {
  uint8_t client = 0;   // kClient* bits
  uint32_t verify = 0;  // 0: the client certificate (if any) was verified
  std::string version;  // PP2_SUBTYPE_SSL_VERSION, "TLSv1.3"
  std::string cipher;   // PP2_SUBTYPE_SSL_CIPHER
  std::string cn;       // PP2_SUBTYPE_SSL_CN, the client certificate's common name
};

struct Header {
  Version version = Version::v1;
  // Where the connection came from and went to. ss_family AF_UNSPEC for both when the header
  // carries no usable address (v1 UNKNOWN, v2 LOCAL, v2 AF_UNSPEC or AF_UNIX): the receiver
  // then uses the socket's own addresses.
  sockaddr_storage source{};
  sockaddr_storage destination{};
  bool local = false;  // v2 LOCAL (a health check of the sender itself)
  // v2 TLVs sluice uses; empty when absent.
  std::string alpn;       // PP2_TYPE_ALPN
  std::string authority;  // PP2_TYPE_AUTHORITY (the TLS SNI, usually)
  bool has_ssl = false;   // a PP2_TYPE_SSL TLV was present
  Ssl ssl;
  bool checksummed = false;  // a PP2_TYPE_CRC32C TLV was present and matched

  bool has_address() const { return source.ss_family != AF_UNSPEC; }
};

}  // namespace sluice::proxy::proxy_protocol
