#include "proxy/l7/rules/route_table.hpp"

#include <limits>

#include "proxy/core/log.hpp"
#include "proxy/l7/h1/route.hpp"

namespace sluice::proxy::rules {

bool query_matches(std::string_view query, const config::QueryMatch& want) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != want.name) continue;
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!want.exact || value == *want.exact) return true;
  }
  return false;
}

namespace {

// FNV-1a: short keys, no need for more.
template <bool kLower>
size_t fnv(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    if (kLower && c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
    h = (h ^ c) * 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

bool exact_host(const config::RouteMatch& m) {
  return m.host && *m.host != "*" && !m.host->starts_with("*.");
}

}  // namespace

size_t RouteTable::Hash::operator()(std::string_view s) const {
  return fnv<false>(s);
}
size_t RouteTable::CaseHash::operator()(std::string_view s) const {
  return fnv<true>(s);
}

void RouteTable::Bucket::add(uint32_t index, const config::RouteMatch& m) {
  if (m.path_exact) {
    exact[*m.path_exact].push_back(index);
    return;
  }
  if (!m.path_prefix) {
    rest.push_back(index);
    return;
  }
  uint32_t node = 0;
  for (const char c : *m.path_prefix) {
    uint32_t child = 0;
    for (const auto& [byte, to] : trie[node].next)
      if (byte == c) child = to;
    if (child == 0) {
      child = static_cast<uint32_t>(trie.size());
      trie[node].next.emplace_back(c, child);
      trie.emplace_back();
    }
    node = child;
  }
  trie[node].routes.push_back(index);
}

RouteTable::RouteTable(const std::vector<config::Route>& routes) : routes_(routes) {
  regexes_.resize(routes.size());
  for (uint32_t i = 0; i < routes.size(); ++i) {
    const config::RouteMatch& m = routes[i].match;
    if (m.path_regex) {
      std::string error;
      regexes_[i] = Regex::compile(*m.path_regex, true, error);
      if (!regexes_[i])
        LOG_ERROR("route %s: path_regex: %s", routes[i].name.c_str(), error.c_str());
    }
    (exact_host(m) ? by_host_[*m.host] : any_host_).add(i, m);
  }
}

bool RouteTable::fits(uint32_t index, const http::Head& head, std::string_view host) const {
  const config::RouteMatch& m = routes_[index].match;
  if (!http::route_matches(m, head, host)) return false;
  if (m.path_regex && (!regexes_[index] || !regexes_[index]->matches(head.path))) return false;
  for (const auto& q : m.query)
    if (!head.has_query || !query_matches(head.query, q)) return false;
  return true;
}

void RouteTable::first_fit(const std::vector<uint32_t>& list, const http::Head& head,
                           std::string_view host, uint32_t& best) const {
  for (const uint32_t index : list) {
    if (index >= best) return;
    if (fits(index, head, host)) {
      best = index;
      return;
    }
  }
}

void RouteTable::lookup(const Bucket& bucket, const http::Head& head, std::string_view host,
                        uint32_t& best) const {
  if (!bucket.exact.empty())
    if (auto it = bucket.exact.find(head.path); it != bucket.exact.end())
      first_fit(it->second, head, host, best);
  uint32_t node = 0;
  for (size_t i = 0;; ++i) {
    first_fit(bucket.trie[node].routes, head, host, best);
    if (i == head.path.size()) break;
    uint32_t child = 0;
    for (const auto& [byte, to] : bucket.trie[node].next)
      if (byte == head.path[i]) child = to;
    if (child == 0) break;
    node = child;
  }
  first_fit(bucket.rest, head, host, best);
}

int RouteTable::match(const http::Head& head) const {
  const std::string_view host = http::host_without_port(head.host);
  uint32_t best = std::numeric_limits<uint32_t>::max();
  if (!by_host_.empty())
    if (auto it = by_host_.find(host); it != by_host_.end()) lookup(it->second, head, host, best);
  lookup(any_host_, head, host, best);
  return best == std::numeric_limits<uint32_t>::max() ? -1 : static_cast<int>(best);
}

}  // namespace sluice::proxy::rules
