// Request and response rules as GET /config shows them (see to_json.cpp). Header rule values
// are redacted like header-match values: `set: { Authorization: "Bearer ..." }` is a
// credential, and the name alone says which rule it is.
#include "config/to_json_parts.hpp"

namespace sluice::config::json_parts {
namespace json = boost::json;

namespace {

json::array cidr_texts(const std::vector<Cidr>& cidrs) {
  json::array out;
  for (const auto& c : cidrs) out.emplace_back(c.text);
  return out;
}

json::array header_rules_json(const std::vector<HeaderRule>& rules) {
  static constexpr const char* kKinds[] = {"remove", "set", "add"};
  json::array out;
  for (const auto& r : rules) {
    json::value value = nullptr;
    if (r.kind != HeaderRule::Kind::remove) value = "<redacted>";
    out.push_back(json::object{
        {"kind", kKinds[static_cast<int>(r.kind)]}, {"name", r.name}, {"value", value}});
  }
  return out;
}

json::value path_rewrite_json(const PathRewrite& p) {
  if (p.path) return json::object{{"path", *p.path}};
  if (p.prefix) return json::object{{"prefix", *p.prefix}};
  if (p.regex)
    return json::object{{"regex", json::object{{"pattern", p.regex->pattern},
                                               {"substitution", p.regex->substitution}}}};
  return nullptr;
}

}  // namespace

json::value access_json(const AccessControl& a) {
  if (a.empty()) return nullptr;
  return json::object{{"allow", cidr_texts(a.allow)}, {"deny", cidr_texts(a.deny)}};
}

json::value header_rules_json(const HeaderRules& h) {
  if (h.empty()) return nullptr;
  return json::object{{"request", header_rules_json(h.request)},
                      {"response", header_rules_json(h.response)}};
}

json::value trusted_proxies_json(const std::vector<Cidr>& cidrs) {
  if (cidrs.empty()) return nullptr;
  return cidr_texts(cidrs);
}

json::value redirect_json(const std::optional<Redirect>& r) {
  if (!r) return nullptr;
  return json::object{{"status", r->status},
                      {"scheme", r->scheme.empty() ? json::value(nullptr) : json::value(r->scheme)},
                      {"host", r->host.empty() ? json::value(nullptr) : json::value(r->host)},
                      {"port", unless_zero(r->port)},
                      {"path", path_rewrite_json(r->path)},
                      {"strip_query", r->strip_query}};
}

json::value rewrite_json(const std::optional<Rewrite>& r) {
  if (!r) return nullptr;
  return json::object{{"path", path_rewrite_json(r->path)},
                      {"host", r->host.empty() ? json::value(nullptr) : json::value(r->host)}};
}

json::value query_json(const std::vector<QueryMatch>& query) {
  json::array out;
  for (const auto& q : query)
    out.push_back(json::object{{"name", q.name},
                               {"exact", q.exact ? json::value(*q.exact) : json::value(nullptr)}});
  return out;
}

}  // namespace sluice::config::json_parts
