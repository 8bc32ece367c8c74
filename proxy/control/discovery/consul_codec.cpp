#include "proxy/control/discovery/consul_codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <set>

#include "proxy/control/discovery/endpoint_value.hpp"

namespace sluice::proxy::discovery::consul {
namespace {

namespace json = boost::json;

const json::value* member(const json::value& v, std::string_view name) {
  return v.is_object() ? v.get_object().if_contains(name) : nullptr;
}

std::string text(const json::value* v) {
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t number(const json::value* v, int64_t absent) {
  if (!v) return absent;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v->get_uint64(), INT64_MAX));
  return -1;
}

}  // namespace

std::string health_target(const Query& query, uint64_t index, std::chrono::milliseconds wait) {
  const auto seconds = (wait.count() + 999) / 1000;
  std::string target = "/v1/health/service/" + query.service + "?passing=1";
  if (index > 0)
    target += "&index=" + std::to_string(index) + "&wait=" + std::to_string(seconds) + "s";
  if (!query.tag.empty()) target += "&tag=" + query.tag;
  if (!query.datacenter.empty()) target += "&dc=" + query.datacenter;
  return target;
}

HealthAnswer parse_health_answer(std::string_view body) {
  HealthAnswer answer;
  boost::system::error_code ec;
  const json::value root = json::parse(body, ec);
  if (ec || !root.is_array()) {
    answer.error = "the answer is not a JSON list of service instances";
    return answer;
  }
  std::set<std::string> seen;
  for (const json::value& entry : root.get_array()) {
    const json::value* service = member(entry, "Service");
    const std::string id = text(member(service ? *service : entry, "ID"));
    const std::string who = "instance " + (id.empty() ? std::string("without ID") : id);
    if (!service || !service->is_object()) {
      answer.skipped.push_back(who + ": no Service");
      continue;
    }
    // An instance registered without an address lives at its node's address.
    std::string address = text(member(*service, "Address"));
    const json::value* node = member(entry, "Node");
    if (address.empty() && node) address = text(member(*node, "Address"));
    const int64_t port = number(member(*service, "Port"), 0);
    if (port < 1 || port > 65535) {
      answer.skipped.push_back(who + ": Service.Port " + std::to_string(port) + " is not 1-65535");
      continue;
    }
    const json::value* weights = member(*service, "Weights");
    const int64_t weight = number(weights ? member(*weights, "Passing") : nullptr, 1);
    if (weight < 1) {
      answer.skipped.push_back(who + ": Weights.Passing is not a positive number");
      continue;
    }
    const auto joined = join_ip_port(address, static_cast<uint16_t>(port));
    if (!joined) {
      answer.skipped.push_back(who + ": address '" + address + "' is not an IP address");
      continue;
    }
    if (!seen.insert(*joined).second) continue;
    answer.endpoints.push_back({*joined, static_cast<uint32_t>(std::min<int64_t>(weight, 65535))});
  }
  return answer;
}

uint64_t next_index(uint64_t previous, std::string_view header) {
  uint64_t index = 0;
  const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), index);
  if (ec != std::errc() || end != header.data() + header.size()) return 0;
  // Backwards (a restored snapshot, another server's view): start over rather than block on
  // an index that will not come back for a long time.
  if (index < previous) return 0;
  return index;
}

}  // namespace sluice::proxy::discovery::consul
