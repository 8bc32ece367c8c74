#include <gtest/gtest.h>

#include <string>

#include "test_util.hpp"

namespace sluice::proxy::proxy_protocol {
namespace {

TEST(ParseV1, Tcp4GivesBothAddressesAndTheLength) {
  const std::string line = "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n";
  Header h;
  const Result r = parse_split(line + "GET / HTTP/1.1\r\n", h);
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.length, line.size());
  EXPECT_EQ(h.version, Version::v1);
  EXPECT_EQ(text(h.source), "192.0.2.10:56324");
  EXPECT_EQ(text(h.destination), "198.51.100.1:443");
  EXPECT_TRUE(h.has_address());
}

TEST(ParseV1, Tcp6) {
  const std::string line = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
  Header h;
  const Result r = parse_split(line, h);
  ASSERT_EQ(r.status, Status::complete) << r.error;
  EXPECT_EQ(r.length, line.size());
  EXPECT_EQ(text(h.source), "[2001:db8::1]:65535");
  EXPECT_EQ(text(h.destination), "[::1]:0");
}

TEST(ParseV1, UnknownKeepsTheSocketsAddressAndIgnoresTheRest) {
  for (const std::string line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ::1 1 2\r\n"}) {
    Header h;
    const Result r = parse_split(line + "payload", h);
    ASSERT_EQ(r.status, Status::complete) << line;
    EXPECT_EQ(r.length, line.size());
    EXPECT_FALSE(h.has_address());
  }
}

TEST(ParseV1, TheLongestLinesAreAccepted) {
  // The spec's worst cases: 104 bytes for TCP6, 107 for UNKNOWN.
  const std::string tcp6 =
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "65535 65535\r\n";
  const std::string unknown = "PROXY UNKNOWN " + std::string(91, 'x') + "\r\n";
  ASSERT_EQ(tcp6.size(), 104u);
  ASSERT_EQ(unknown.size(), kV1MaxLength);
  for (const std::string& line : {tcp6, unknown}) {
    Header h;
    const Result r = parse_split(line, h);
    ASSERT_EQ(r.status, Status::complete) << r.error;
    EXPECT_EQ(r.length, line.size());
  }
}

struct Refused {
  std::string bytes;
  std::string error;
};

class ParseV1Refuses : public testing::TestWithParam<Refused> {};

TEST_P(ParseV1Refuses, WithItsReason) {
  Header h;
  const Result r = parse(GetParam().bytes, h);
  ASSERT_EQ(r.status, Status::malformed);
  EXPECT_EQ(std::string(r.error), GetParam().error);
  EXPECT_FALSE(h.has_address());
}

INSTANTIATE_TEST_SUITE_P(
    Lines, ParseV1Refuses,
    testing::Values(
        // Refused at the first byte that cannot be a header: no waiting for more.
        Refused{"GET / HTTP/1.1\r\n", "not a PROXY protocol header"},
        Refused{"PROXYTCP4", "not a PROXY protocol header"},
        Refused{"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "v1 protocol is not TCP4, TCP6 or UNKNOWN"},
        Refused{"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "v1 protocol is not TCP4, TCP6 or UNKNOWN"},
        Refused{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "v1 line ends in a bare LF"},
        Refused{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "v1 line has a CR without LF"},
        Refused{"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "v1 line does not have exactly five fields"},
        Refused{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
                "v1 line does not have exactly five fields"},
        Refused{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "v1 line does not have exactly five fields"},
        Refused{"PROXY TCP4\r\n", "v1 line does not have exactly five fields"},
        Refused{"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "v1 line does not have exactly five fields"},
        Refused{"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "v1 address does not match its protocol"},
        Refused{"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "v1 address does not match its protocol"},
        Refused{"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", "v1 address does not match its protocol"},
        Refused{"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "v1 port is not a number in 0..65535"},
        Refused{"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "v1 port is not a number in 0..65535"},
        Refused{"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "v1 port is not a number in 0..65535"},
        Refused{"PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n", "v1 port is not a number in 0..65535"},
        Refused{"PROXY UNKNOWN " + std::string(100, 'x'), "v1 line longer than 107 bytes"}));

TEST(ParseV1, AnyWrongByteOfThePrefixIsRefusedAtOnce) {
  const std::string prefix = "PROXY ";
  for (size_t i = 0; i < prefix.size(); ++i) {
    std::string bytes = prefix.substr(0, i) + "x";
    Header h;
    EXPECT_EQ(parse(bytes, h).status, Status::malformed) << bytes;
  }
}

TEST(ParseV1, AnIncompleteLineAsksForMore) {
  Header h;
  EXPECT_EQ(parse("", h).status, Status::need_more);
  EXPECT_EQ(parse("PRO", h).status, Status::need_more);
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4", h).status, Status::need_more);
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", h).status, Status::need_more);
  // 106 bytes without a CR might still end in one.
  EXPECT_EQ(parse("PROXY UNKNOWN " + std::string(92, 'x'), h).status, Status::need_more);
}

}  // namespace
}  // namespace sluice::proxy::proxy_protocol
