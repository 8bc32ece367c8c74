#include "proxy/control/discovery/dns_answer.hpp"

#include <ares.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <algorithm>
#include <limits>

namespace sluice::proxy::discovery {
namespace {

constexpr size_t kHeaderSize = 12;

uint16_t read16(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t read32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

// Moves `at` past the (possibly compressed) name there; false when it runs off the answer.
bool skip_name(std::span<const unsigned char> answer, size_t& at) {
  char* name = nullptr;
  long length = 0;
  if (ares_expand_name(answer.data() + at, answer.data(), static_cast<int>(answer.size()), &name,
                       &length) != ARES_SUCCESS)
    return false;
  ares_free_string(name);
  at += static_cast<size_t>(length);
  return at <= answer.size();
}

}  // namespace

std::optional<uint32_t> min_answer_ttl(std::span<const unsigned char> answer) {
  if (answer.size() < kHeaderSize) return std::nullopt;
  const uint16_t questions = read16(&answer[4]);
  const uint16_t answers = read16(&answer[6]);
  size_t at = kHeaderSize;
  for (uint16_t i = 0; i < questions; ++i) {
    if (!skip_name(answer, at) || at + 4 > answer.size()) return std::nullopt;
    at += 4;  // type, class
  }
  std::optional<uint32_t> smallest;
  for (uint16_t i = 0; i < answers; ++i) {
    if (!skip_name(answer, at) || at + 10 > answer.size()) return std::nullopt;
    uint32_t ttl = read32(&answer[at + 4]);
    if (ttl > uint32_t{std::numeric_limits<int32_t>::max()}) ttl = 0;
    const uint16_t data_length = read16(&answer[at + 8]);
    at += 10 + data_length;
    if (at > answer.size()) return std::nullopt;
    smallest = std::min(smallest.value_or(ttl), ttl);
  }
  return smallest;
}

std::vector<std::string> parse_addresses(std::span<const unsigned char> answer, int type,
                                         std::string* error) {
  // Room for every record of the answer: the count is in the header.
  const int capacity = answer.size() >= kHeaderSize ? std::max(1, int{read16(&answer[6])}) : 1;
  std::vector<std::string> out;
  char text[INET6_ADDRSTRLEN];
  int count = capacity;
  int rc;
  if (type == ns_t_aaaa) {
    std::vector<ares_addr6ttl> records(static_cast<size_t>(capacity));
    rc = ares_parse_aaaa_reply(answer.data(), static_cast<int>(answer.size()), nullptr,
                               records.data(), &count);
    for (int i = 0; rc == ARES_SUCCESS && i < count; ++i)
      out.emplace_back(ares_inet_ntop(AF_INET6, &records[i].ip6addr, text, sizeof text));
  } else {
    std::vector<ares_addrttl> records(static_cast<size_t>(capacity));
    rc = ares_parse_a_reply(answer.data(), static_cast<int>(answer.size()), nullptr, records.data(),
                            &count);
    for (int i = 0; rc == ARES_SUCCESS && i < count; ++i)
      out.emplace_back(ares_inet_ntop(AF_INET, &records[i].ipaddr, text, sizeof text));
  }
  if (rc == ARES_ENODATA) return {};  // e.g. a CNAME without addresses
  if (rc != ARES_SUCCESS) *error = std::string("unreadable answer: ") + ares_strerror(rc);
  return out;
}

std::vector<SrvRecord> parse_srv(std::span<const unsigned char> answer, std::string* error) {
  ares_srv_reply* head = nullptr;
  const int rc = ares_parse_srv_reply(answer.data(), static_cast<int>(answer.size()), &head);
  if (rc == ARES_ENODATA) return {};
  if (rc != ARES_SUCCESS) {
    *error = std::string("unreadable answer: ") + ares_strerror(rc);
    return {};
  }
  std::vector<SrvRecord> records;
  for (auto* r = head; r != nullptr; r = r->next)
    records.push_back({r->priority, r->weight, r->port, r->host});
  ares_free_data(head);
  // A client uses the lowest priority it can reach; the others are fallbacks for when none
  // of those answer, which the health checks, not the DNS, find out.
  uint16_t lowest = std::numeric_limits<uint16_t>::max();
  for (const auto& r : records) lowest = std::min(lowest, r.priority);
  std::erase_if(records, [&](const SrvRecord& r) { return r.priority != lowest; });
  std::erase_if(records, [](const SrvRecord& r) { return r.target.empty() || r.target == "."; });
  return records;
}

std::string endpoint_address(const std::string& ip, uint16_t port) {
  const bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

void canonicalize(std::vector<DiscoveredEndpoint>& set) {
  std::sort(set.begin(), set.end(), [](const auto& a, const auto& b) {
    return a.address != b.address ? a.address < b.address : a.weight > b.weight;
  });
  set.erase(std::unique(set.begin(), set.end(),
                        [](const auto& a, const auto& b) { return a.address == b.address; }),
            set.end());
}

}  // namespace sluice::proxy::discovery
