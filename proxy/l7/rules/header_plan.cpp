#include "proxy/l7/rules/header_plan.hpp"

#include <algorithm>

#include "proxy/l7/h1/message.hpp"

namespace sluice::proxy::rules {
namespace {

std::string_view variable_value(config::TemplateVariable v, const TemplateContext& c) {
  using V = config::TemplateVariable;
  switch (v) {
    case V::client_ip:
      return c.client_ip;
    case V::request_id:
      return c.request_id;
    case V::host:
      return c.host;
    case V::tls_sni:
      return c.tls_sni;
    case V::tls_version:
      return c.tls_version;
    case V::tls_cipher:
      return c.tls_cipher;
    case V::tls_alpn:
      return c.tls_alpn;
    case V::tls_client_subject:
      return c.tls_client_subject;
  }
  return {};
}

}  // namespace

void render(const config::ValueTemplate& value, const TemplateContext& context, std::string& out) {
  for (const auto& part : value.parts) {
    if (!part.variable) {
      out += part.literal;  // checked when the config was read
      continue;
    }
    for (const char c : variable_value(*part.variable, context)) {
      const auto u = static_cast<unsigned char>(c);
      if (u == '\t' || (u >= 0x20 && u != 0x7f)) out += c;
    }
  }
}

HeaderPlan::HeaderPlan(const std::vector<config::HeaderRule>& first,
                       const std::vector<config::HeaderRule>& then) {
  for (const auto& rule : first) apply(rule);
  for (const auto& rule : then) apply(rule);
}

void HeaderPlan::apply(const config::HeaderRule& rule) {
  if (rule.kind != config::HeaderRule::Kind::add) {
    std::string lower = rule.name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (std::find(drop_.begin(), drop_.end(), lower) == drop_.end()) drop_.push_back(lower);
    std::erase_if(lines_, [&](const Line& l) { return http::iequals(l.name, rule.name); });
  }
  if (rule.kind != config::HeaderRule::Kind::remove) lines_.push_back({rule.name, &rule.value});
}

void HeaderPlan::render_lines(const TemplateContext& context, std::string& out) const {
  for (const auto& line : lines_) {
    out += line.name;
    out += ": ";
    render(*line.value, context, out);
    out += "\r\n";
  }
}

}  // namespace sluice::proxy::rules
