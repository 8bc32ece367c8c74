#include "proxy/l7/h1/route.hpp"

namespace sluice::proxy::http {

std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t end = host.find(']');
    return end == std::string_view::npos ? host : host.substr(0, end + 1);
  }
  host = host.substr(0, host.find(':'));
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

namespace {

bool host_matches(std::string_view pattern, std::string_view host) {
  if (pattern == "*") return true;
  if (pattern.size() > 1 && pattern[0] == '*' && pattern[1] == '.') {
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && iends_with(host, suffix);
  }
  return iequals(pattern, host);
}

bool headers_match(const std::vector<config::HeaderMatch>& wanted, const Head& head) {
  for (const auto& w : wanted) {
    bool found = false;
    for (const Header& h : head.headers) {
      if (iequals(h.name, w.name) && (!w.exact || h.value == *w.exact)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace

bool route_matches(const config::RouteMatch& m, const Head& head, std::string_view host) {
  if (m.host && !host_matches(*m.host, host)) return false;
  if (m.path_exact && head.path != *m.path_exact) return false;
  if (m.path_prefix && !head.path.starts_with(*m.path_prefix)) return false;
  if (!m.methods.empty()) {
    bool any = false;
    for (const auto& method : m.methods) any = any || head.method == method;
    if (!any) return false;
  }
  return headers_match(m.headers, head);
}

const config::Route* match_route(const std::vector<config::Route>& routes, const Head& head) {
  const std::string_view host = host_without_port(head.host);
  for (const auto& route : routes)
    if (route_matches(route.match, head, host)) return &route;
  return nullptr;
}

}  // namespace sluice::proxy::http
