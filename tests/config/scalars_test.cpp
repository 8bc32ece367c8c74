// The scalar notations, one string at a time.
#include "config/scalars.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(Duration, AcceptsEachUnit) {
  EXPECT_EQ(parse_duration("250ms").value, Duration(250));
  EXPECT_EQ(parse_duration("2s").value, Duration(2000));
  EXPECT_EQ(parse_duration("1m").value, Duration(60'000));
  EXPECT_EQ(parse_duration("1h").value, Duration(3'600'000));
  EXPECT_EQ(parse_duration("0s").value, Duration(0));  // the caller decides whether 0 is allowed
}

TEST(Duration, RejectsOtherShapes) {
  for (const char* text : {"", "5", "s", "1.5s", "-1s", "1 s", "1sec", "1d", "1S", "ms", "1ms2"})
    EXPECT_EQ(parse_duration(text).error,
              std::string("expected a duration like 250ms, 2s, 1m or 1h, got '") + text + "'")
        << text;
}

TEST(Duration, RejectsOverflow) {
  EXPECT_EQ(parse_duration("99999999999999999999999s").error,
            "expected a duration like 250ms, 2s, 1m or 1h, got '99999999999999999999999s'");
  EXPECT_EQ(parse_duration("9000h").error, "duration '9000h' is too long (at most 366 days)");
  EXPECT_TRUE(parse_duration("8784h"));
}

TEST(Rate, AcceptsEachUnit) {
  auto r = parse_rate("100/s");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value->count, 100u);
  EXPECT_EQ(r.value->per, Duration(1000));
  EXPECT_EQ(parse_rate("600/min").value->per, Duration(60'000));
  EXPECT_EQ(parse_rate("10/h").value->per, Duration(3'600'000));
}

TEST(Size, AcceptsBytesAndBinaryUnits) {
  EXPECT_EQ(*parse_size("65536").value, 65536u);
  EXPECT_EQ(*parse_size("512KiB").value, 512u * 1024);
  EXPECT_EQ(*parse_size("10MiB").value, 10u * 1024 * 1024);
  EXPECT_EQ(*parse_size("1GiB").value, 1ull << 30);
}

TEST(Size, RejectsOtherShapes) {
  for (const char* text : {"", "10MB", "10 MiB", "1.5MiB", "MiB", "-1", "10k"})
    EXPECT_EQ(parse_size(text).error,
              std::string("expected a size like 65536, 512KiB, 10MiB or 1GiB, got '") + text + "'");
  EXPECT_EQ(parse_size("2000000GiB").error, "size '2000000GiB' is too large");
}

TEST(Rate, RejectsOtherShapes) {
  for (const char* text : {"", "100", "100/", "/s", "100/m", "100/sec", "1.5/s", "100 / s", "x/s"})
    EXPECT_EQ(parse_rate(text).error,
              std::string("expected a rate like 100/s, 600/min or 10/h, got '") + text + "'")
        << text;
  EXPECT_EQ(parse_rate("0/s").error, "rate must be at least 1 per unit, got '0/s'");
  EXPECT_EQ(parse_rate("2000000000/s").error,
            "rate '2000000000/s' is too large (at most 1000000000 per unit)");
}

TEST(Address, Ipv4) {
  auto a = parse_address("127.0.0.1:8080");
  ASSERT_TRUE(a) << a.error;
  EXPECT_EQ(a.value->family(), AF_INET);
  EXPECT_EQ(a.value->length, sizeof(sockaddr_in));
  EXPECT_EQ(a.value->text, "127.0.0.1:8080");
  auto* sin = reinterpret_cast<const sockaddr_in*>(a.value->sockaddr_ptr());
  EXPECT_EQ(ntohs(sin->sin_port), 8080);
  EXPECT_EQ(ntohl(sin->sin_addr.s_addr), 0x7f000001u);
}

TEST(Address, ANulIsNotPartOfAnAddress) {
  // A YAML "\0" escape: the host would have stopped at the NUL and kept the tail as junk.
  using namespace std::string_view_literals;
  EXPECT_EQ(parse_address("10.0.0.1\0x:80"sv).error, "an address must not contain a NUL character");
  EXPECT_EQ(parse_address("10.0.0.1:80\0"sv).error, "an address must not contain a NUL character");
}

TEST(Address, Ipv6) {
  auto a = parse_address("[::1]:443");
  ASSERT_TRUE(a) << a.error;
  EXPECT_EQ(a.value->family(), AF_INET6);
  EXPECT_EQ(a.value->length, sizeof(sockaddr_in6));
  auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a.value->sockaddr_ptr());
  EXPECT_EQ(ntohs(sin6->sin6_port), 443);
  EXPECT_EQ(sin6->sin6_addr.s6_addr[15], 1);
}

TEST(Address, LocalhostMeansLoopback) {
  auto a = parse_address("localhost:80");
  ASSERT_TRUE(a) << a.error;
  EXPECT_EQ(a.value->text, "localhost:80");
  EXPECT_EQ(ntohl(reinterpret_cast<const sockaddr_in*>(a.value->sockaddr_ptr())->sin_addr.s_addr),
            0x7f000001u);
}

TEST(Address, Errors) {
  const std::string example = " (expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080)";
  EXPECT_EQ(parse_address("127.0.0.1").error, "missing ':port' in '127.0.0.1'" + example);
  EXPECT_EQ(parse_address("127.0.0.1:").error, "missing port in '127.0.0.1:'" + example);
  EXPECT_EQ(parse_address(":80").error,
            "missing host in ':80' (use 0.0.0.0:PORT for every interface)");
  EXPECT_EQ(parse_address("1.2.3.4:0").error, "port 0 is out of range (1..65535)");
  EXPECT_EQ(parse_address("1.2.3.4:65536").error, "port 65536 is out of range (1..65535)");
  EXPECT_EQ(parse_address("1.2.3.4:http").error, "port 'http' is not a number");
  EXPECT_EQ(parse_address("1.2.3.4:-1").error, "port '-1' is not a number");
  EXPECT_EQ(parse_address("1.2.3:80").error, "invalid IPv4 address '1.2.3'");
  EXPECT_EQ(parse_address("256.0.0.1:80").error, "invalid IPv4 address '256.0.0.1'");
  EXPECT_EQ(parse_address("::1:80").error, "IPv6 address '::1:80' needs brackets, e.g. [::1]:8080");
  EXPECT_EQ(parse_address("[::1:80").error, "missing ']' in '[::1:80'" + example);
  EXPECT_EQ(parse_address("[::1]80").error, "missing ':port' after ']' in '[::1]80'" + example);
  EXPECT_EQ(parse_address("[::g]:80").error, "invalid IPv6 address '::g'");
  EXPECT_EQ(parse_address("db.internal:5432").error,
            "host name 'db.internal' is not supported here: use an IP address or localhost (a "
            "cluster's endpoints may name hosts)");
}

TEST(Integer, Parses) {
  EXPECT_EQ(parse_integer("42").value, 42);
  EXPECT_EQ(parse_integer("-7").value, -7);
  EXPECT_EQ(parse_integer("4x").error, "expected an integer, got '4x'");
  EXPECT_EQ(parse_integer("1.0").error, "expected an integer, got '1.0'");
  EXPECT_EQ(parse_integer("99999999999999999999").error,
            "integer '99999999999999999999' is too large");
}

TEST(Number, Parses) {
  EXPECT_EQ(parse_number("1.25").value, 1.25);
  EXPECT_EQ(parse_number("1").value, 1.0);
  EXPECT_EQ(parse_number("inf").error, "expected a number, got 'inf'");
  EXPECT_EQ(parse_number("nan").error, "expected a number, got 'nan'");
  EXPECT_EQ(parse_number("0.5x").error, "expected a number, got '0.5x'");
}

TEST(Name, Checks) {
  EXPECT_EQ(check_name("api-v2.internal_1"), "");
  EXPECT_EQ(check_name(""), "name must not be empty");
  EXPECT_EQ(check_name("a b"), "name 'a b' may only contain letters, digits, '_', '-' and '.'");
  EXPECT_EQ(check_name(std::string(65, 'a')),
            "name '" + std::string(65, 'a') + "' is longer than 64 characters");
}

TEST(HostName, Checks) {
  EXPECT_TRUE(is_host_name("api.example.com", false));
  EXPECT_TRUE(is_host_name("*.example.com", true));
  EXPECT_FALSE(is_host_name("*.example.com", false));
  EXPECT_FALSE(is_host_name("a..b", true));
  EXPECT_FALSE(is_host_name("a.b.", true));
  EXPECT_FALSE(is_host_name("", true));
  EXPECT_FALSE(is_host_name("a/b", true));
}

TEST(Token, Checks) {
  EXPECT_TRUE(is_token("X-Api-Key"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("X Api"));
  EXPECT_FALSE(is_token("X:Y"));
}

}  // namespace
}  // namespace sluice::config
