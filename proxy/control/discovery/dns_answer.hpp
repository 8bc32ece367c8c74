// What a DNS answer means for a cluster: the addresses of an A/AAAA answer, the SRV records of
// an SRV answer (only the lowest priority group: the others are fallbacks), the smallest TTL
// of the answer, and endpoint sets in one canonical order. c-ares parses the records; this
// only walks the answer section for TTLs, which c-ares does not report for SRV.
// Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "proxy/control/discovery/update_guard.hpp"

namespace sluice::proxy::discovery {

struct SrvRecord {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;
  bool operator==(const SrvRecord&) const = default;
};

// The smallest TTL among the answer section's records (CNAMEs included: the chain expires
// with its shortest link), in seconds; nullopt when the answer is malformed or has none. A
// TTL with the top bit set counts as 0 (RFC 2181 section 8).
std::optional<uint32_t> min_answer_ttl(std::span<const unsigned char> answer);

// The addresses ("10.0.0.1", "fd00::1") of an A (`type` 1) or AAAA (28) answer; an answer
// with none (a CNAME alone) is an empty list. `error` is set when c-ares cannot parse it.
std::vector<std::string> parse_addresses(std::span<const unsigned char> answer, int type,
                                         std::string* error);

// The SRV records of an answer, lowest priority group only; a lone "." target ("no such
// service here", RFC 2782) gives none. `error` is set when c-ares cannot parse it.
std::vector<SrvRecord> parse_srv(std::span<const unsigned char> answer, std::string* error);

// "10.0.0.1:8080" or "[fd00::1]:8080".
std::string endpoint_address(const std::string& ip, uint16_t port);

// Sorted by address, one endpoint per address (the largest weight wins), so two equal
// answers compare equal however the server ordered them.
void canonicalize(std::vector<DiscoveredEndpoint>& set);

}  // namespace sluice::proxy::discovery
