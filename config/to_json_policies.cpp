// The traffic policies (config/traffic_policy.hpp) as GET /config shows them.
#include "config/to_json.hpp"
#include "config/to_json_parts.hpp"

namespace sluice::config::json_parts {

namespace json = boost::json;

json::value sticky_cookie_json(const std::optional<StickyCookie>& c) {
  if (!c) return nullptr;
  static constexpr const char* kSameSite[] = {nullptr, "lax", "strict", "none"};
  const char* same_site = kSameSite[static_cast<int>(c->same_site)];
  return json::object{
      {"name", c->name},
      {"path", c->path},
      {"domain", c->domain.empty() ? json::value(nullptr) : json::value(c->domain)},
      {"max_age", c->max_age ? json::value(format_duration(*c->max_age)) : json::value(nullptr)},
      {"httponly", c->http_only},
      {"secure", c->secure},
      {"samesite", same_site ? json::value(same_site) : json::value(nullptr)},
      // Redacted like every secret in to_json.cpp: set or not is all /config tells.
      {"secret", c->secret.empty() ? json::value(nullptr) : json::value("<redacted>")}};
}

json::value retry_budget_json(const std::optional<RetryBudget>& b) {
  if (!b) return nullptr;
  return json::object{{"ratio", b->ratio}, {"min_concurrency", b->min_concurrency}};
}

json::value backoff_json(const RetryBackoff& b) {
  if (b.base.count() == 0) return nullptr;
  return json::object{{"base", format_duration(b.base)}, {"max", format_duration(b.max)}};
}

json::value deadline_json(const Deadline& d) {
  if (d.header.empty()) return nullptr;
  return json::object{
      {"header", d.header}, {"propagate", d.propagate}, {"trust_incoming", d.trust_incoming}};
}

json::value fallback_json(const std::optional<Fallback>& f) {
  if (!f) return nullptr;
  json::array on;
  for (size_t i = 0; i < kFallbackReasons; ++i)
    if (f->covers(static_cast<FallbackReason>(i))) on.emplace_back(kFallbackReasonNames[i]);
  json::value response = nullptr;
  if (f->response) {
    json::object headers;
    for (const auto& [name, value] : f->response->headers) headers[name] = value;
    response = json::object{
        {"status", f->response->status},
        {"headers", std::move(headers)},
        {"body_file", f->response->body_file.empty() ? json::value(nullptr)
                                                     : json::value(f->response->body_file)},
        {"body_bytes", f->response->body.size()}};
  }
  return json::object{
      {"on", std::move(on)},
      {"response", std::move(response)},
      {"cluster", f->cluster.empty() ? json::value(nullptr) : json::value(f->cluster)}};
}

}  // namespace sluice::config::json_parts
