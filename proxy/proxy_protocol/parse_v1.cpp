#include "proxy/proxy_protocol/parse_v1.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace sluice::proxy::proxy_protocol {
namespace {

constexpr std::string_view kPrefix = "PROXY ";

Result malformed(const char* error) {
  return {Status::malformed, 0, error};
}

// The next space-separated token of `line` (one space exactly between tokens).
std::string_view next_token(std::string_view& line) {
  const size_t space = line.find(' ');
  std::string_view token = line.substr(0, space);
  line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  return token;
}

// A port in decimal, 0..65535, without a sign or a leading zero.
bool parse_port(std::string_view text, uint16_t& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

bool parse_address(std::string_view text, int family, uint16_t port, sockaddr_storage& out) {
  char buffer[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  out = {};
  if (family == AF_INET) {
    auto& sin = reinterpret_cast<sockaddr_in&>(out);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    return inet_pton(AF_INET, buffer, &sin.sin_addr) == 1;
  }
  auto& sin6 = reinterpret_cast<sockaddr_in6&>(out);
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  return inet_pton(AF_INET6, buffer, &sin6.sin6_addr) == 1;
}

}  // namespace

Result parse_v1(std::string_view bytes, Header& header) {
  const size_t prefix = std::min(bytes.size(), kPrefix.size());
  if (bytes.substr(0, prefix) != kPrefix.substr(0, prefix))
    return malformed("not a PROXY protocol header");
  // The line ends at the first CR, which must be followed by LF; a bare LF is refused.
  const size_t limit = std::min(bytes.size(), kV1MaxLength);
  size_t cr = std::string_view::npos;
  for (size_t i = prefix; i < limit; ++i) {
    if (bytes[i] == '\n') return malformed("v1 line ends in a bare LF");
    if (bytes[i] == '\r') {
      cr = i;
      break;
    }
  }
  if (cr == std::string_view::npos)
    return bytes.size() >= kV1MaxLength ? malformed("v1 line longer than 107 bytes") : Result{};
  if (cr + 1 >= bytes.size()) return {};
  if (bytes[cr + 1] != '\n') return malformed("v1 line has a CR without LF");
  const size_t length = cr + 2;

  std::string_view line = bytes.substr(kPrefix.size(), cr - kPrefix.size());
  header = Header{};
  header.version = Version::v1;
  const std::string_view protocol = next_token(line);
  // UNKNOWN: the sender could not tell (or would not); whatever follows is ignored.
  if (protocol == "UNKNOWN") return {Status::complete, length, nullptr};
  int family;
  if (protocol == "TCP4") {
    family = AF_INET;
  } else if (protocol == "TCP6") {
    family = AF_INET6;
  } else {
    return malformed("v1 protocol is not TCP4, TCP6 or UNKNOWN");
  }
  if (line.empty() || line.back() == ' ')
    return malformed("v1 line does not have exactly five fields");
  const std::string_view source = next_token(line);
  const std::string_view destination = next_token(line);
  const std::string_view source_port = next_token(line);
  const std::string_view destination_port = next_token(line);
  if (!line.empty() || destination_port.empty())
    return malformed("v1 line does not have exactly five fields");
  uint16_t sport = 0;
  uint16_t dport = 0;
  if (!parse_port(source_port, sport) || !parse_port(destination_port, dport))
    return malformed("v1 port is not a number in 0..65535");
  if (!parse_address(source, family, sport, header.source) ||
      !parse_address(destination, family, dport, header.destination)) {
    header = Header{};
    return malformed("v1 address does not match its protocol");
  }
  return {Status::complete, length, nullptr};
}

}  // namespace sluice::proxy::proxy_protocol
