// The few pieces of the DNS wire format (RFC 1035) the test DNS server needs: reading a
// one-question query (with its EDNS0 payload size) and writing an answer of A, AAAA and SRV
// records. Test-only: sluice itself reads DNS through c-ares.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sluice::testing {

namespace dns_type {
constexpr uint16_t a = 1;
constexpr uint16_t aaaa = 28;
constexpr uint16_t srv = 33;
constexpr uint16_t opt = 41;
}  // namespace dns_type

namespace dns_rcode {
constexpr uint8_t noerror = 0;
constexpr uint8_t servfail = 2;
constexpr uint8_t nxdomain = 3;
constexpr uint8_t refused = 5;
}  // namespace dns_rcode

struct DnsQuery {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::string name;  // lower case, no trailing dot
  uint16_t type = 0;
  uint16_t qclass = 1;
  std::optional<uint16_t> edns_size;  // the OPT record's UDP payload size, when there is one
};

// nullopt for anything but a well-formed one-question query.
std::optional<DnsQuery> parse_dns_query(std::span<const uint8_t> packet);

// One answer record: its type, TTL and RDATA as written on the wire.
struct DnsRecordData {
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::vector<uint8_t> rdata;
};

// RDATA from text: "10.0.0.1" (A), "fd00::1" (AAAA), "PRIORITY WEIGHT PORT TARGET" (SRV).
// Throws std::invalid_argument when the text does not fit the type.
std::vector<uint8_t> dns_rdata(uint16_t type, const std::string& text);

// The response to `query` with `rcode` and `answers` (owner name: the question's);
// `truncated` sets TC and is meant with no answers.
std::vector<uint8_t> encode_dns_response(const DnsQuery& query, uint8_t rcode,
                                         const std::vector<DnsRecordData>& answers,
                                         bool truncated = false);

}  // namespace sluice::testing
