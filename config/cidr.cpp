#include "config/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

namespace sluice::config {

Parsed<Cidr> parse_cidr(std::string_view text) {
  const std::string why = "expected an address or CIDR range like 10.0.0.0/8 or 2001:db8::/32";
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  Cidr cidr;
  cidr.text = std::string(text);
  int max_prefix = 32;
  if (inet_pton(AF_INET, address.c_str(), cidr.bytes.data()) == 1) {
    cidr.family = AF_INET;
  } else if (inet_pton(AF_INET6, address.c_str(), cidr.bytes.data()) == 1) {
    cidr.family = AF_INET6;
    max_prefix = 128;
  } else {
    return Parsed<Cidr>::fail(why + ", got '" + std::string(text) + "'");
  }
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
        prefix > max_prefix)
      return Parsed<Cidr>::fail("a prefix length is 0.." + std::to_string(max_prefix) + ", got '" +
                                std::string(text) + "'");
  }
  for (int bit = prefix; bit < max_prefix; ++bit)
    if (cidr.bytes[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8)))
      return Parsed<Cidr>::fail("'" + std::string(text) +
                                "' has bits set past its prefix length; the range starts at a "
                                "network address");
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (cidr.family == AF_INET6 && prefix >= 96 && std::memcmp(cidr.bytes.data(), kMapped, 12) == 0) {
    std::memmove(cidr.bytes.data(), cidr.bytes.data() + 12, 4);
    std::fill(cidr.bytes.begin() + 4, cidr.bytes.end(), 0);
    cidr.family = AF_INET;
    prefix -= 96;
  }
  cidr.prefix = static_cast<uint8_t>(prefix);
  return Parsed<Cidr>::ok(std::move(cidr));
}

bool cidr_contains(const Cidr& cidr, int family, const uint8_t* address) {
  if (family != cidr.family) return false;
  const size_t whole = cidr.prefix / 8;
  if (std::memcmp(address, cidr.bytes.data(), whole) != 0) return false;
  const int rest = cidr.prefix % 8;
  if (rest == 0) return true;
  // parse_cidr zeroes the bits past the prefix, so only the address needs the mask.
  const auto mask = static_cast<uint8_t>(0xff00 >> rest);
  return (address[whole] & mask) == cidr.bytes[whole];
}

}  // namespace sluice::config
