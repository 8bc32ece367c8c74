#include "proxy/proxy_protocol/writer.hpp"

#include <gtest/gtest.h>

#include <string>

#include "test_util.hpp"

namespace sluice::proxy::proxy_protocol {
namespace {

sockaddr_storage address(const char* ip, uint16_t port) {
  sockaddr_storage out{};
  if (std::string(ip).find(':') == std::string::npos) {
    auto& a = reinterpret_cast<sockaddr_in&>(out);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
  } else {
    auto& a = reinterpret_cast<sockaddr_in6&>(out);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
  }
  return out;
}

Header header(Version version, const char* src, uint16_t sport, const char* dst, uint16_t dport) {
  Header h;
  h.version = version;
  h.source = address(src, sport);
  h.destination = address(dst, dport);
  return h;
}

TEST(Writer, V1Lines) {
  EXPECT_EQ(write(header(Version::v1, "192.0.2.10", 56324, "198.51.100.1", 443)),
            "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n");
  EXPECT_EQ(write(header(Version::v1, "2001:db8::7", 1, "::1", 80)),
            "PROXY TCP6 2001:db8::7 ::1 1 80\r\n");
  // Mixed families cannot be said in one line.
  EXPECT_EQ(write(header(Version::v1, "192.0.2.10", 1, "::1", 80)), "PROXY UNKNOWN\r\n");
  EXPECT_EQ(write(Header{}), "PROXY UNKNOWN\r\n");
}

TEST(Writer, V2Tcp4BytesAreExact) {
  const std::string bytes = write(header(Version::v2, "192.0.2.10", 56324, "198.51.100.1", 443));
  // 16 fixed + 12 addresses + 7 (CRC32C TLV).
  ASSERT_EQ(bytes.size(), 35u);
  EXPECT_EQ(bytes.substr(0, 16), std::string(kV2Signature) + std::string("\x21\x11\x00\x13", 4));
  EXPECT_EQ(bytes.substr(16, 12),
            std::string("\xc0\x00\x02\x0a\xc6\x33\x64\x01\xdc\x04\x01\xbb", 12));
  EXPECT_EQ(bytes.substr(28, 3), std::string("\x03\x00\x04", 3));
}

TEST(Writer, WhatItWritesParsesBack) {
  for (Version version : {Version::v1, Version::v2}) {
    for (const auto& [src, dst] :
         {std::pair{"10.1.2.3", "10.0.0.1"}, std::pair{"fe80::1", "::1"}}) {
      Header in = header(version, src, 40000, dst, 8080);
      if (version == Version::v2) {
        in.alpn = "h2";
        in.authority = "api.example.com";
        in.has_ssl = true;
        in.ssl.client = kClientSsl;
        in.ssl.version = "TLSv1.3";
        in.ssl.cipher = "TLS_AES_256_GCM_SHA384";
      }
      const std::string bytes = write(in);
      Header out;
      const Result r = parse_split(bytes, out);
      ASSERT_EQ(r.status, Status::complete) << r.error;
      EXPECT_EQ(r.length, bytes.size());
      EXPECT_EQ(text(out.source), text(in.source));
      EXPECT_EQ(text(out.destination), text(in.destination));
      EXPECT_EQ(out.alpn, in.alpn);
      EXPECT_EQ(out.authority, in.authority);
      EXPECT_EQ(out.has_ssl, in.has_ssl);
      EXPECT_EQ(out.ssl.version, in.ssl.version);
      EXPECT_EQ(out.ssl.cipher, in.ssl.cipher);
      EXPECT_EQ(out.checksummed, version == Version::v2);
    }
  }
}

TEST(Writer, V2WithoutAddressesIsStillProxy) {
  Header in;
  in.version = Version::v2;
  in.authority = "a.example";
  const std::string bytes = write(in);
  EXPECT_EQ(bytes[12], '\x21');
  EXPECT_EQ(bytes[13], '\x00');
  Header out;
  ASSERT_EQ(parse(bytes, out).status, Status::complete);
  EXPECT_FALSE(out.has_address());
  EXPECT_EQ(out.authority, "a.example");
}

}  // namespace
}  // namespace sluice::proxy::proxy_protocol
