// Helpers for the PROXY protocol parser tests: addresses as text, and "every prefix of a
// valid header asks for more".
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <string_view>

#include "proxy/proxy_protocol/parser.hpp"

namespace sluice::proxy::proxy_protocol {

// "1.2.3.4:80", "[::1]:443", or "none".
inline std::string text(const sockaddr_storage& address) {
  char ip[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &a.sin6_addr, ip, sizeof ip);
    return "[" + std::string(ip) + "]:" + std::to_string(ntohs(a.sin6_port));
  }
  return "none";
}

// Parses `bytes` whole, after checking that each of its proper prefixes asks for more.
inline Result parse_split(std::string_view bytes, Header& header) {
  for (size_t n = 0; n < bytes.size(); ++n) {
    Header scratch;
    const Result partial = parse(bytes.substr(0, n), scratch);
    // A prefix of a complete header may itself be complete only when the rest is payload.
    if (partial.status == Status::complete) return parse(bytes, header);
    EXPECT_EQ(partial.status, Status::need_more)
        << "prefix of " << n << " bytes: " << (partial.error ? partial.error : "");
  }
  return parse(bytes, header);
}

}  // namespace sluice::proxy::proxy_protocol
