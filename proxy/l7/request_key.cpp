#include "proxy/l7/request_key.hpp"

#include "balancers/key_hash.hpp"
#include "proxy/session/rate_limit.hpp"

namespace sluice::proxy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Walks "k=v<sep>k=v" pairs for the first key equal to `name`.
std::string_view pair_value(std::string_view list, char separator, std::string_view name) {
  while (!list.empty()) {
    const size_t end = list.find(separator);
    std::string_view pair = trim(list.substr(0, end));
    list = end == std::string_view::npos ? std::string_view{} : list.substr(end + 1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name)
      return trim(pair.substr(eq + 1));
  }
  return {};
}

}  // namespace

std::string_view cookie_value(std::string_view cookies, std::string_view name) {
  return pair_value(cookies, ';', name);
}

std::string_view query_value(std::string_view query, std::string_view name) {
  return pair_value(query, '&', name);
}

uint64_t route_key(std::string_view listener, std::string_view route) {
  return balancers::fmix64(balancers::hash_key(listener) ^
                           (balancers::hash_key(route) * 0x9e3779b97f4a7c15ULL));
}

uint64_t request_limit_key(const config::RateLimitKey& key, const http::Head& head,
                           std::string_view client_ip, uint64_t route_key) {
  const http::Header* h =
      key.source == config::RateLimitKey::Source::header ? head.find(key.header) : nullptr;
  return limit_key(key, h != nullptr ? h->value : std::string_view{}, client_ip, route_key);
}

uint64_t request_limit_key(const config::RateLimit& limit, const http::Head& head,
                           std::string_view client_ip, uint64_t route_key) {
  uint64_t key = request_limit_key(limit.key, head, client_ip, route_key);
  for (const config::RateLimitKey& part : limit.more_keys)
    key = combine_limit_keys(key, request_limit_key(part, head, client_ip, route_key));
  return key;
}

uint64_t request_key(const config::HashKey& key, const http::Head& head,
                     std::string_view client_ip) {
  using Source = config::HashKey::Source;
  switch (key.source) {
    case Source::client_ip:
      return balancers::hash_key(client_ip);
    case Source::path:
      return balancers::hash_key(head.path);
    case Source::query:
      return balancers::hash_key(query_value(head.query, key.name));
    case Source::header: {
      const http::Header* h = head.find(key.name);
      return balancers::hash_key(h != nullptr ? h->value : std::string_view{});
    }
    case Source::cookie: {
      for (const http::Header& h : head.headers)
        if (http::iequals(h.name, "cookie")) {
          std::string_view v = cookie_value(h.value, key.name);
          if (!v.empty()) return balancers::hash_key(v);
        }
      return balancers::hash_key(std::string_view{});
    }
  }
  return 0;
}

}  // namespace sluice::proxy
