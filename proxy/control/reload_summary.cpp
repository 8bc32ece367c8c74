#include "proxy/control/reload_summary.hpp"

#include <boost/json.hpp>

#include <string_view>
#include <vector>

#include "config/to_json.hpp"

namespace sluice::proxy {
namespace {

namespace json = boost::json;

// The sections whose entries are named, in the order the summary lists them.
constexpr std::string_view kNamedSections[] = {"listeners", "clusters", "rate_limits"};
// Top-level keys that say which file it is, not how sluice behaves.
constexpr std::string_view kIdentity[] = {"source_path", "source_hash", "warnings"};

const json::object* find_named(const json::array& list, std::string_view name) {
  for (const json::value& v : list) {
    if (!v.is_object()) continue;
    const json::value* n = v.as_object().if_contains("name");
    if (n != nullptr && n->is_string() && std::string_view(n->as_string()) == name)
      return &v.as_object();
  }
  return nullptr;
}

std::string name_of(const json::value& v) {
  if (!v.is_object() || !v.as_object().contains("name")) return "?";
  const json::value& n = v.as_object().at("name");
  return n.is_string() ? std::string(n.as_string()) : json::serialize(n);
}

const json::array& array_or_empty(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? it->value().as_array() : kEmpty;
}

// "+a, -b, ~c" for the entries of two named lists; `detail` may say more about a changed one.
template <class Detail>
std::string diff_named(const json::array& before, const json::array& after, Detail detail) {
  std::vector<std::string> parts;
  for (const json::value& v : after) {
    const std::string name = name_of(v);
    const json::object* old = find_named(before, name);
    if (old == nullptr) {
      parts.push_back("+" + name);
    } else if (*old != v) {
      parts.push_back("~" + name + detail(*old, v.as_object()));
    }
  }
  for (const json::value& v : before)
    if (find_named(after, name_of(v)) == nullptr) parts.push_back("-" + name_of(v));
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string no_detail(const json::object&, const json::object&) {
  return {};
}

// A changed listener: which of its routes changed, if any did.
std::string route_detail(const json::object& before, const json::object& after) {
  std::string routes =
      diff_named(array_or_empty(before, "routes"), array_or_empty(after, "routes"), no_detail);
  return routes.empty() ? "" : " (routes: " + routes + ")";
}

}  // namespace

std::string describe_config_changes(const config::Config& before, const config::Config& after) {
  const json::object a = json::parse(config::to_json(before)).as_object();
  const json::object b = json::parse(config::to_json(after)).as_object();
  std::string out;
  auto add = [&out](std::string_view section, const std::string& what) {
    if (what.empty()) return;
    if (!out.empty()) out += "; ";
    out += std::string(section) + ": " + what;
  };
  for (std::string_view section : kNamedSections)
    add(section, diff_named(array_or_empty(a, section), array_or_empty(b, section),
                            section == "listeners" ? route_detail : no_detail));
  std::string settings;
  auto skip = [](std::string_view key) {
    for (std::string_view s : kNamedSections)
      if (key == s) return true;
    for (std::string_view s : kIdentity)
      if (key == s) return true;
    return false;
  };
  for (const auto& [key, value] : b) {
    if (skip(key)) continue;
    const json::value* old = a.if_contains(key);
    if (old == nullptr || *old != value)
      settings += (settings.empty() ? "" : ", ") + std::string(key);
  }
  for (const auto& [key, value] : a)
    if (!skip(key) && !b.contains(key))
      settings += (settings.empty() ? "" : ", ") + std::string(key);
  add("settings", settings);
  return out.empty() ? "no changes" : out;
}

}  // namespace sluice::proxy
