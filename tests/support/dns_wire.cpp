#include "tests/support/dns_wire.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <sstream>
#include <stdexcept>

namespace sluice::testing {
namespace {

uint16_t read16(std::span<const uint8_t> p, size_t at) {
  return static_cast<uint16_t>(p[at] << 8 | p[at + 1]);
}
void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

// Uncompressed labels, as queries carry them; nullopt on anything else.
std::optional<std::string> read_name(std::span<const uint8_t> p, size_t& at) {
  std::string name;
  while (at < p.size()) {
    const uint8_t length = p[at++];
    if (length == 0) return name;
    if (length > 63 || at + length > p.size()) return std::nullopt;
    if (!name.empty()) name += '.';
    for (size_t i = 0; i < length; ++i)
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(p[at + i])));
    at += length;
  }
  return std::nullopt;
}

void put_name(std::vector<uint8_t>& out, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<uint8_t>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start),
               name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
}

}  // namespace

std::optional<DnsQuery> parse_dns_query(std::span<const uint8_t> p) {
  if (p.size() < 12) return std::nullopt;
  DnsQuery q;
  q.id = read16(p, 0);
  q.flags = read16(p, 2);
  if ((q.flags & 0x8000) != 0 || read16(p, 4) != 1)
    return std::nullopt;  // a response, or not 1 question
  size_t at = 12;
  auto name = read_name(p, at);
  if (!name || at + 4 > p.size()) return std::nullopt;
  q.name = *name;
  q.type = read16(p, at);
  q.qclass = read16(p, at + 2);
  at += 4;
  // EDNS0: an OPT pseudo-record (root owner) among the additional records; its class is
  // the payload size the client can take over UDP.
  const uint16_t additional = read16(p, 10);
  for (uint16_t i = 0; i < additional && at + 11 <= p.size(); ++i) {
    if (p[at] != 0) break;  // a real owner name: not what c-ares sends
    const uint16_t type = read16(p, at + 1);
    if (type == dns_type::opt) q.edns_size = read16(p, at + 3);
    at += 11 + read16(p, at + 9);
  }
  return q;
}

std::vector<uint8_t> dns_rdata(uint16_t type, const std::string& text) {
  std::vector<uint8_t> out;
  if (type == dns_type::a || type == dns_type::aaaa) {
    uint8_t bytes[16];
    const int family = type == dns_type::a ? AF_INET : AF_INET6;
    if (inet_pton(family, text.c_str(), bytes) != 1)
      throw std::invalid_argument("not an address of that family: " + text);
    out.assign(bytes, bytes + (type == dns_type::a ? 4 : 16));
    return out;
  }
  if (type == dns_type::srv) {
    std::istringstream in(text);
    unsigned priority = 0, weight = 0, port = 0;
    std::string target;
    if (!(in >> priority >> weight >> port >> target))
      throw std::invalid_argument("expected PRIORITY WEIGHT PORT TARGET, got " + text);
    put16(out, static_cast<uint16_t>(priority));
    put16(out, static_cast<uint16_t>(weight));
    put16(out, static_cast<uint16_t>(port));
    put_name(out, target == "." ? "" : target);
    return out;
  }
  throw std::invalid_argument("unsupported record type " + std::to_string(type));
}

std::vector<uint8_t> encode_dns_response(const DnsQuery& query, uint8_t rcode,
                                         const std::vector<DnsRecordData>& answers,
                                         bool truncated) {
  std::vector<uint8_t> out;
  put16(out, query.id);
  // QR, AA, the client's RD, RA; TC when truncated.
  uint16_t flags = 0x8000 | 0x0400 | (query.flags & 0x0100) | 0x0080 | rcode;
  if (truncated) flags |= 0x0200;
  put16(out, flags);
  put16(out, 1);
  put16(out, static_cast<uint16_t>(answers.size()));
  put16(out, 0);
  put16(out, 0);
  put_name(out, query.name);
  put16(out, query.type);
  put16(out, query.qclass);
  for (const auto& r : answers) {
    put16(out, 0xC00C);  // the question's name, at offset 12
    put16(out, r.type);
    put16(out, 1);  // IN
    put32(out, r.ttl);
    put16(out, static_cast<uint16_t>(r.rdata.size()));
    out.insert(out.end(), r.rdata.begin(), r.rdata.end());
  }
  return out;
}

}  // namespace sluice::testing
