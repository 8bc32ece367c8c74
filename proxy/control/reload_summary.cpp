#include "proxy/control/reload_summary.hpp"

#include <boost/json.hpp>

#include <string_view>
#include <vector>

#include "config/to_json.hpp"
#include "proxy/control/restart_only.hpp"

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

namespace {

std::string quoted(std::string_view kind, const std::string& name) {
  return std::string(kind) + " '" + name + "': ";
}

// The fields of two entries that differ, by key, among `keys`.
std::string changed_fields(const json::object& a, const json::object& b,
                           std::initializer_list<std::string_view> keys) {
  std::string out;
  for (std::string_view k : keys) {
    const json::value* x = a.if_contains(k);
    const json::value* y = b.if_contains(k);
    if ((x == nullptr) != (y == nullptr) || (x != nullptr && *x != *y))
      out += (out.empty() ? "" : ", ") + std::string(k);
  }
  return out;
}

// "+10.0.0.3:80, -10.0.0.1:80" (a changed weight shows as ~address).
std::string endpoint_changes(const json::object& a, const json::object& b) {
  auto address_of = [](const json::value& e) {
    const json::value* v = e.is_object() ? e.as_object().if_contains("address") : nullptr;
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  const json::array& before = array_or_empty(a, "endpoints");
  const json::array& after = array_or_empty(b, "endpoints");
  auto find = [&](const json::array& list, const std::string& address) -> const json::value* {
    for (const json::value& e : list)
      if (address_of(e) == address) return &e;
    return nullptr;
  };
  std::string out;
  auto add = [&out](std::string part) { out += (out.empty() ? "" : ", ") + part; };
  for (const json::value& e : after) {
    const json::value* old = find(before, address_of(e));
    if (old == nullptr) {
      add("+" + address_of(e));
    } else if (*old != e) {
      add("~" + address_of(e));
    }
  }
  for (const json::value& e : before)
    if (find(after, address_of(e)) == nullptr) add("-" + address_of(e));
  return out;
}

bool present(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && !v->is_null();
}

// Added, removed and changed entries of one named section, with what each change does.
template <class Changed>
void plan_section(std::vector<std::string>& out, std::string_view kind, const json::array& before,
                  const json::array& after, Changed changed) {
  for (const json::value& v : after) {
    const std::string name = name_of(v);
    const json::object* old = find_named(before, name);
    if (old == nullptr) {
      out.push_back(quoted(kind, name) + "added");
    } else if (*old != v) {
      changed(out, name, *old, v.as_object());
    }
  }
  for (const json::value& v : before)
    if (find_named(after, name_of(v)) == nullptr)
      out.push_back(quoted(kind, name_of(v)) + "removed");
}

}  // namespace

std::vector<std::string> plan_reload(const config::Config& running, unsigned running_workers,
                                     const config::Config& next, bool state_lines) {
  config::Config kept = next;  // keep_restart_only edits its copy
  std::vector<std::string> waiting = keep_restart_only(running, running_workers, kept);
  const json::object a = json::parse(config::to_json(running)).as_object();
  const json::object b = json::parse(config::to_json(kept)).as_object();
  std::vector<std::string> out;
  plan_section(out, "listener", array_or_empty(a, "listeners"), array_or_empty(b, "listeners"),
               [](std::vector<std::string>& out, const std::string& name, const json::object& x,
                  const json::object& y) {
                 out.push_back(quoted("listener", name) + "changed" + route_detail(x, y));
               });
  plan_section(out, "cluster", array_or_empty(a, "clusters"), array_or_empty(b, "clusters"),
               [state_lines](std::vector<std::string>& out, const std::string& name,
                             const json::object& x, const json::object& y) {
                 const std::string endpoints = endpoint_changes(x, y);
                 out.push_back(quoted("cluster", name) + "changed" +
                               (endpoints.empty() ? "" : " (endpoints: " + endpoints + ")"));
                 if (!state_lines) return;
                 // What the state store keys this state by (state_store.cpp): a breaker by its
                 // thresholds, an outlier detector by its settings and the endpoint list.
                 if (present(x, "circuit_breaker") && present(y, "circuit_breaker") &&
                     x.at("circuit_breaker") != y.at("circuit_breaker"))
                   out.push_back(quoted("cluster", name) +
                                 "circuit breaker state resets, closed (new thresholds)");
                 if (present(x, "outlier_detection") && present(y, "outlier_detection") &&
                     (x.at("outlier_detection") != y.at("outlier_detection") ||
                      x.at("endpoints") != y.at("endpoints")))
                   out.push_back(quoted("cluster", name) +
                                 "outlier detection state resets, nothing ejected (new settings or "
                                 "endpoints)");
               });
  plan_section(out, "rate limit", array_or_empty(a, "rate_limits"),
               array_or_empty(b, "rate_limits"),
               [state_lines](std::vector<std::string>& out, const std::string& name,
                             const json::object& x, const json::object& y) {
                 if (!state_lines) {
                   out.push_back(quoted("rate limit", name) + "changed");
                   return;
                 }
                 // As StateStore converts it: only a new key, algorithm or scope starts afresh.
                 const std::string fresh = changed_fields(x, y, {"key", "algorithm", "scope"});
                 if (!fresh.empty()) {
                   out.push_back(quoted("rate limit", name) + "state resets (new " + fresh + ")");
                 } else if (const std::string converted =
                                changed_fields(x, y, {"rate", "burst", "max_keys"});
                            !converted.empty()) {
                   out.push_back(quoted("rate limit", name) + "state carried over, converted (" +
                                 converted + ")");
                 } else {
                   out.push_back(quoted("rate limit", name) + "changed");
                 }
               });
  const std::string summary = describe_config_changes(running, kept);
  if (const size_t at = summary.find("settings: "); at != std::string::npos)
    out.push_back("settings changed: " + summary.substr(at + 10));
  out.insert(out.end(), waiting.begin(), waiting.end());
  if (out.empty()) out.push_back("no changes");
  return out;
}

}  // namespace sluice::proxy
