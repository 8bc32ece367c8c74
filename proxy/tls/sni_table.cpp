#include "proxy/tls/sni_table.hpp"

#include <cctype>

namespace sluice::proxy::tls {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // "example.com." is the same name as "example.com".
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

void SniTable::add(std::string_view name, size_t certificate) {
  if (name.starts_with("*."))
    wildcard_.emplace(lower(name.substr(2)), certificate);
  else
    exact_.emplace(lower(name), certificate);
}

std::optional<size_t> SniTable::find(std::string_view server_name) const {
  if (server_name.empty()) return std::nullopt;
  const std::string name = lower(server_name);
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  const size_t dot = name.find('.');
  // The first label must be non-empty and the rest a suffix someone configured.
  if (dot == 0 || dot == std::string::npos) return std::nullopt;
  if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end()) return it->second;
  return std::nullopt;
}

}  // namespace sluice::proxy::tls
