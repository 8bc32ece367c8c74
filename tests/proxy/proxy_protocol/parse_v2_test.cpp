#include <gtest/gtest.h>

#include <string>

#include "proxy/proxy_protocol/crc32c.hpp"
#include "proxy/proxy_protocol/tlv.hpp"
#include "test_util.hpp"

namespace sluice::proxy::proxy_protocol {
namespace {

std::string be16(size_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}

std::string tlv(uint8_t type, const std::string& value) {
  return std::string(1, static_cast<char>(type)) + be16(value.size()) + value;
}

// A v2 header: version/command byte, family byte, then `body` (addresses and TLVs).
std::string v2(char command, char family, const std::string& body) {
  return std::string(kV2Signature) + command + family + be16(body.size()) + body;
}

// 192.0.2.10:56324 -> 198.51.100.1:443
const std::string kTcp4 =
    std::string("\xc0\x00\x02\x0a\xc6\x33\x64\x01", 8) + "\xdc\x04" + std::string("\x01\xbb", 2);

// `header` with a CRC32C TLV appended whose value is right (or `delta` off).
std::string with_crc(std::string header, uint32_t delta = 0) {
  header += tlv(kTypeCrc32c, std::string(4, '\0'));
  const size_t length = header.size() - kV2FixedLength;
  header[14] = static_cast<char>(length >> 8);
  header[15] = static_cast<char>(length & 0xff);
  const uint32_t crc = crc32c(header) + delta;
  for (int i = 0; i < 4; ++i)
    header[header.size() - 4 + i] = static_cast<char>(crc >> (24 - 8 * i));
  return header;
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the standard check value
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(crc32c("56789", crc32c("1234")), 0xE3069283u);
}

TEST(ParseV2, ProxyTcp4) {
  const std::string header = v2('\x21', '\x11', kTcp4);
  Header h;
  const Result r = parse_split(header + "GET /", h);
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.length, 28u);
  EXPECT_EQ(h.version, Version::v2);
  EXPECT_FALSE(h.local);
  EXPECT_EQ(text(h.source), "192.0.2.10:56324");
  EXPECT_EQ(text(h.destination), "198.51.100.1:443");
  EXPECT_FALSE(h.checksummed);
}

TEST(ParseV2, ProxyTcp6) {
  std::string block(36, '\0');
  block[0] = '\x20';
  block[1] = '\x01';
  block[2] = '\x0d';
  block[3] = '\xb8';
  block[15] = '\x07';  // 2001:db8::7
  block[31] = '\x01';  // ::1
  block[32] = '\x30';
  block[33] = '\x39';  // 12345
  block[35] = '\x50';  // 80
  Header h;
  const Result r = parse_split(v2('\x21', '\x21', block), h);
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.length, 52u);
  EXPECT_EQ(text(h.source), "[2001:db8::7]:12345");
  EXPECT_EQ(text(h.destination), "[::1]:80");
}

TEST(ParseV2, LocalAndUnspecAndUnixKeepTheSocketsAddress) {
  for (const std::string& header :
       {v2('\x20', '\x11', kTcp4), v2('\x20', '\x00', ""), v2('\x21', '\x00', ""),
        v2('\x21', '\x31', std::string(216, 'u')), v2('\x21', '\x12', kTcp4)}) {
    Header h;
    const Result r = parse_split(header, h);
    ASSERT_EQ(r.status, Status::complete) << r.error;
    EXPECT_EQ(r.length, header.size());
    EXPECT_FALSE(h.has_address());
  }
  Header h;
  ASSERT_EQ(parse(v2('\x20', '\x11', kTcp4), h).status, Status::complete);
  EXPECT_TRUE(h.local);
}

TEST(ParseV2, TlvsAlpnAuthoritySslAreSurfaced) {
  const std::string ssl =
      std::string("\x05\x00\x00\x00\x00", 5) + tlv(kSubtypeSslVersion, "TLSv1.3") +
      tlv(kSubtypeSslCipher, "TLS_AES_128_GCM_SHA256") + tlv(kSubtypeSslCn, "client.example");
  const std::string header =
      with_crc(v2('\x21', '\x11',
                  kTcp4 + tlv(kTypeAlpn, "h2") + tlv(kTypeAuthority, "www.example.com") +
                      tlv(kTypeNoop, "xx") + tlv(0xe0, "custom") + tlv(kTypeSsl, ssl)));
  Header h;
  const Result r = parse_split(header, h);
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.length, header.size());
  EXPECT_EQ(h.alpn, "h2");
  EXPECT_EQ(h.authority, "www.example.com");
  ASSERT_TRUE(h.has_ssl);
  EXPECT_EQ(h.ssl.client, kClientSsl | kClientCertSess);
  EXPECT_EQ(h.ssl.verify, 0u);
  EXPECT_EQ(h.ssl.version, "TLSv1.3");
  EXPECT_EQ(h.ssl.cipher, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(h.ssl.cn, "client.example");
  EXPECT_TRUE(h.checksummed);
  EXPECT_EQ(text(h.source), "192.0.2.10:56324");
}

TEST(ParseV2, ABadChecksumIsRefused) {
  for (uint32_t delta : {1u, 0x100u, 0x80000000u}) {
    Header h;
    const Result r = parse(with_crc(v2('\x21', '\x11', kTcp4), delta), h);
    ASSERT_EQ(r.status, Status::malformed);
    EXPECT_STREQ(r.error, "v2 CRC32C checksum does not match");
    EXPECT_FALSE(h.has_address());
  }
  // Any flipped bit of a checksummed header is caught (the CRC or the structure refuses it).
  const std::string good = with_crc(v2('\x21', '\x11', kTcp4 + tlv(kTypeAlpn, "http/1.1")));
  const size_t crc_type = good.size() - 7;
  for (size_t i = 16; i < good.size(); ++i) {
    if (i == crc_type) continue;  // a checksum whose type byte is hit is no checksum at all
    std::string bad = good;
    bad[i] ^= 0x04;
    Header h;
    EXPECT_NE(parse(bad, h).status, Status::complete) << "byte " << i;
  }
}

struct Refused {
  std::string bytes;
  const char* error;
};

class ParseV2Refuses : public testing::TestWithParam<Refused> {};

TEST_P(ParseV2Refuses, WithItsReason) {
  Header h;
  const Result r = parse(GetParam().bytes, h);
  ASSERT_EQ(r.status, Status::malformed);
  EXPECT_STREQ(r.error, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Headers, ParseV2Refuses,
    testing::Values(
        Refused{std::string("\r\n\r\n\0\r\nQUIX", 11), "not a PROXY protocol header"},
        Refused{"\r\nGET", "not a PROXY protocol header"},
        Refused{std::string(kV2Signature) + "\x11", "v2 header of an unknown version"},
        Refused{std::string(kV2Signature) + "\x22", "v2 command is neither LOCAL nor PROXY"},
        Refused{std::string(kV2Signature) + "\x21\x41", "v2 address family unknown"},
        Refused{std::string(kV2Signature) + "\x21\x13", "v2 transport protocol unknown"},
        Refused{std::string(kV2Signature) + "\x21\x11" + be16(4081) + "x",
                "v2 header longer than 4096 bytes"},
        Refused{v2('\x21', '\x11', kTcp4.substr(0, 11)), "v2 header too short for its addresses"},
        Refused{v2('\x21', '\x21', kTcp4), "v2 header too short for its addresses"},
        Refused{v2('\x21', '\x11', kTcp4 + "\x01\x00"), "v2 TLV truncated"},
        Refused{v2('\x21', '\x11', kTcp4 + "\x01\x00\x05" + "h2"), "v2 TLV truncated"},
        Refused{v2('\x21', '\x11', kTcp4 + tlv(kTypeCrc32c, "abc")),
                "v2 CRC32C TLV is not 4 bytes"},
        Refused{v2('\x21', '\x11', kTcp4 + tlv(kTypeSsl, "1234")),
                "v2 SSL TLV shorter than 5 bytes"},
        Refused{
            v2('\x21', '\x11', kTcp4 + tlv(kTypeSsl, std::string("\x01\0\0\0\0", 5) + "\x21\x00")),
            "v2 SSL sub-TLV truncated"}));

TEST(ParseV2, TwoChecksumsAreRefused) {
  std::string header = with_crc(with_crc(v2('\x21', '\x11', kTcp4)));
  Header h;
  const Result r = parse(header, h);
  ASSERT_EQ(r.status, Status::malformed);
  // The first one no longer matches once the second was added, which is reason enough.
  EXPECT_STREQ(r.error, "v2 CRC32C checksum does not match");
}

TEST(ParseV2, TheLargestHeaderIsAcceptedAndAsksForItsWholeLength) {
  const std::string header =
      v2('\x21', '\x11', kTcp4 + tlv(kTypeNoop, std::string(4080 - 15, 'n')));
  ASSERT_EQ(header.size(), kV2MaxLength);
  Header h;
  EXPECT_EQ(parse(header.substr(0, 4095), h).status, Status::need_more);
  const Result r = parse(header, h);
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.length, kV2MaxLength);
}

}  // namespace
}  // namespace sluice::proxy::proxy_protocol
