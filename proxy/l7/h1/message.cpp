#include "proxy/l7/h1/message.hpp"

#include "proxy/l7/h1/chars.hpp"

namespace sluice::proxy::http {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (chars::to_lower(a[i]) != chars::to_lower(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

const Header* Head::find(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h;
  return nullptr;
}

void Head::clear() {
  auto keep = std::move(headers);
  keep.clear();
  *this = Head{};
  headers = std::move(keep);
}

}  // namespace sluice::proxy::http
