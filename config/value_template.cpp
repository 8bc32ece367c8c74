#include "config/value_template.hpp"

#include <array>
#include <string>
#include <utility>

namespace sluice::config {
namespace {

constexpr std::array<std::pair<std::string_view, TemplateVariable>, 8> kVariables{{
    {"client_ip", TemplateVariable::client_ip},
    {"request_id", TemplateVariable::request_id},
    {"host", TemplateVariable::host},
    {"tls_sni", TemplateVariable::tls_sni},
    {"tls_version", TemplateVariable::tls_version},
    {"tls_cipher", TemplateVariable::tls_cipher},
    {"tls_alpn", TemplateVariable::tls_alpn},
    {"tls_client_subject", TemplateVariable::tls_client_subject},
}};

// RFC 9110 field-value bytes: VCHAR, SP, HTAB and obs-text.
bool field_value_byte(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

}  // namespace

std::optional<TemplateVariable> template_variable(std::string_view name) {
  for (const auto& [n, v] : kVariables)
    if (n == name) return v;
  return std::nullopt;
}

std::string_view template_variable_names() {
  return "client_ip, request_id, host, tls_sni, tls_version, tls_cipher, tls_alpn, "
         "tls_client_subject";
}

Parsed<ValueTemplate> parse_value_template(std::string_view text) {
  ValueTemplate t;
  t.text = std::string(text);
  std::string literal;
  auto flush = [&] {
    if (literal.empty()) return;
    t.parts.push_back({std::move(literal), std::nullopt});
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const std::string at = " (at character " + std::to_string(i + 1) + ")";
    if (!field_value_byte(static_cast<unsigned char>(c)))
      return Parsed<ValueTemplate>::fail("a header value cannot hold control characters" + at);
    if (c != '%') {
      literal += c;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '%') {
      literal += '%';
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{')
      return Parsed<ValueTemplate>::fail("a '%' starts %{variable} or is written %%" + at);
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos)
      return Parsed<ValueTemplate>::fail("'%{' without its '}'" + at);
    const std::string_view name = text.substr(i + 2, close - i - 2);
    const auto variable = template_variable(name);
    if (!variable)
      return Parsed<ValueTemplate>::fail("unknown variable '" + std::string(name) + "'" + at +
                                         "; known: " + std::string(template_variable_names()));
    flush();
    t.parts.push_back({{}, *variable});
    i = close;
  }
  flush();
  return Parsed<ValueTemplate>::ok(std::move(t));
}

}  // namespace sluice::config
