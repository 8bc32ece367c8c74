#include "proxy/control/reload_summary.hpp"

#include <boost/json.hpp>

#include <string_view>
#include <vector>

#include "config/to_json.hpp"
#include "proxy/control/restart_only.hpp"

namespace sluice::proxy {
namespace {

namespace json = boost::json;

// The sections whose entries are named, in the order the plan lists them.
constexpr std::string_view kNamedSections[] = {"listeners", "clusters", "rate_limits"};
// Top-level keys that say which file it is, not how sluice behaves.
constexpr std::string_view kIdentity[] = {"source_path", "source_hash", "warnings"};

// The `key` ("name", "address") of a list entry; "?" when it has none.
std::string key_of(const json::value& v, std::string_view key) {
  const json::value* k = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  if (k == nullptr) return "?";
  return k->is_string() ? std::string(k->as_string()) : json::serialize(*k);
}

const json::object* find_by(const json::array& list, std::string_view key,
                            const std::string& value) {
  for (const json::value& v : list)
    if (v.is_object() && key_of(v, key) == value) return &v.as_object();
  return nullptr;
}

const json::array& array_or_empty(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? it->value().as_array() : kEmpty;
}

// Calls added(k), changed(k, before, after) and removed(k) for the entries of two lists,
// matched by their `key`.
template <class Added, class Changed, class Removed>
void diff_by(const json::array& before, const json::array& after, std::string_view key, Added added,
             Changed changed, Removed removed) {
  for (const json::value& v : after) {
    const std::string k = key_of(v, key);
    const json::object* old = find_by(before, key, k);
    if (old == nullptr) {
      added(k);
    } else if (*old != v) {
      changed(k, *old, v.as_object());
    }
  }
  for (const json::value& v : before)
    if (find_by(after, key, key_of(v, key)) == nullptr) removed(key_of(v, key));
}

// " (routes: +a, ~b, -c)" for a listener's routes, " (endpoints: ...)" for a cluster's
// endpoints by address; "" when that list did not change.
std::string list_detail(const json::object& before, const json::object& after,
                        std::string_view list, std::string_view key) {
  std::string parts;
  auto add = [&parts](char sign, const std::string& k) {
    parts += (parts.empty() ? "" : ", ") + (sign + k);
  };
  diff_by(
      array_or_empty(before, list), array_or_empty(after, list), key,
      [&](const std::string& k) { add('+', k); },
      [&](const std::string& k, const json::object&, const json::object&) { add('~', k); },
      [&](const std::string& k) { add('-', k); });
  return parts.empty() ? "" : " (" + std::string(list) + ": " + parts + ")";
}

// The top-level settings (neither named sections nor the file's identity) that differ:
// "drain_timeout, redis".
std::string changed_settings(const json::object& a, const json::object& b) {
  auto skip = [](std::string_view key) {
    for (std::string_view s : kNamedSections)
      if (key == s) return true;
    for (std::string_view s : kIdentity)
      if (key == s) return true;
    return false;
  };
  std::string settings;
  for (const auto& [key, value] : b) {
    if (skip(key)) continue;
    const json::value* old = a.if_contains(key);
    if (old == nullptr || *old != value)
      settings += (settings.empty() ? "" : ", ") + std::string(key);
  }
  for (const auto& [key, value] : a)
    if (!skip(key) && !b.contains(key))
      settings += (settings.empty() ? "" : ", ") + std::string(key);
  return settings;
}

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

bool present(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && !v->is_null();
}

// Added, removed and changed entries of one named section, with what each change does.
template <class Changed>
void plan_section(std::vector<std::string>& out, std::string_view kind, const json::array& before,
                  const json::array& after, Changed changed) {
  diff_by(
      before, after, "name",
      [&](const std::string& name) { out.push_back(quoted(kind, name) + "added"); },
      [&](const std::string& name, const json::object& x, const json::object& y) {
        changed(out, name, x, y);
      },
      [&](const std::string& name) { out.push_back(quoted(kind, name) + "removed"); });
}

}  // namespace

std::vector<std::string> plan_reload(const config::Config& running, unsigned running_workers,
                                     const config::Config& next, bool state_lines) {
  config::Config kept = next;  // keep_restart_only edits its copy
  std::vector<std::string> waiting = keep_restart_only(running, running_workers, kept);
  const json::object a = json::parse(config::to_json(running)).as_object();
  const json::object b = json::parse(config::to_json(kept)).as_object();
  std::vector<std::string> out;
  plan_section(
      out, "listener", array_or_empty(a, "listeners"), array_or_empty(b, "listeners"),
      [](std::vector<std::string>& out, const std::string& name, const json::object& x,
         const json::object& y) {
        out.push_back(quoted("listener", name) + "changed" + list_detail(x, y, "routes", "name"));
      });
  plan_section(out, "cluster", array_or_empty(a, "clusters"), array_or_empty(b, "clusters"),
               [state_lines](std::vector<std::string>& out, const std::string& name,
                             const json::object& x, const json::object& y) {
                 out.push_back(quoted("cluster", name) + "changed" +
                               list_detail(x, y, "endpoints", "address"));
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
  if (const std::string settings = changed_settings(a, b); !settings.empty())
    out.push_back("settings changed: " + settings);
  out.insert(out.end(), waiting.begin(), waiting.end());
  if (out.empty()) out.push_back("no changes");
  return out;
}

}  // namespace sluice::proxy
