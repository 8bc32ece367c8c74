// The request and response rules of listeners and routes: access (allow/deny CIDRs),
// trusted_proxies, headers (add/set/remove with value templates), redirect, rewrite, and the
// route matches that need more than a string (path_regex, query). Regexes are compiled here
// once to be checked, so a bad one is a config error with its place, never a runtime surprise.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "config/cidr.hpp"
#include "config/parse_state.hpp"
#include "config/value_template.hpp"

namespace sluice::config {
namespace {

// Fields sluice frames or routes by itself: a rule touching them would break the message or
// contradict what sluice sends (Host has `rewrite.host`).
bool reserved_header(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (std::string_view r : {"host", "content-length", "transfer-encoding", "connection",
                             "keep-alive", "te", "trailer", "upgrade", "proxy-connection"})
    if (lower == r) return true;
  return false;
}

// `at`: the name's place (a map key, or a list item).
std::optional<std::string> header_name(Reader& r, const Field& field, Pos at,
                                       std::string_view name) {
  if (!is_token(name)) {
    r.error(at, field.path + ": '" + std::string(name) + "' is not a valid header name");
    return std::nullopt;
  }
  if (reserved_header(name)) {
    r.error(
        at,
        field.path + ": " + std::string(name) +
            " is sluice's to write (use rewrite.host for Host); a header rule cannot change it");
    return std::nullopt;
  }
  return std::string(name);
}

// `add:` / `set:` maps, name -> value template, in file order.
void parse_valued_rules(ParseState& state, const Field& field, HeaderRule::Kind kind,
                        std::vector<HeaderRule>& out) {
  Reader& r = state.reader;
  if (!field.value.IsMap()) {
    r.error(field, "expected a map of header names to values, got " + describe(field.value));
    return;
  }
  for (auto it = field.value.begin(); it != field.value.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
    Field item(it->first, it->second, field.path + "." + key, field.source);
    auto name = header_name(r, item, item.key_pos(), key);
    auto text = r.string(item);
    if (!name || !text) continue;
    auto parsed = parse_value_template(*text);
    if (!parsed) {
      r.error(item, parsed.error);
      continue;
    }
    out.push_back(HeaderRule{kind, *name, std::move(*parsed.value)});
  }
}

std::vector<HeaderRule> parse_header_direction(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  std::vector<HeaderRule> rules;
  if (!map.valid()) return rules;
  if (auto f = map.get("remove")) {
    for (const auto& item : r.list(*f)) {
      auto text = r.string(item);
      if (!text) continue;
      if (auto name = header_name(r, item, item.pos(), *text))
        rules.push_back(HeaderRule{HeaderRule::Kind::remove, *name, {}});
    }
  }
  if (auto f = map.get("set")) parse_valued_rules(state, *f, HeaderRule::Kind::set, rules);
  if (auto f = map.get("add")) parse_valued_rules(state, *f, HeaderRule::Kind::add, rules);
  return rules;
}

Pos offset_pos(const Field& field, size_t offset) {
  Pos p = field.pos();
  // A quoted scalar's text starts one column after its mark.
  p.column += static_cast<int>(offset) + (field.value.Tag() == "!" ? 1 : 0);
  return p;
}

PathRewrite parse_path_rewrite(ParseState& state, MapReader& map) {
  Reader& r = state.reader;
  PathRewrite rewrite;
  std::vector<Field> given;
  if (auto f = map.get("path")) {
    given.push_back(*f);
    if (auto path = r.string(*f)) {
      if (path->empty() || (*path)[0] != '/')
        r.error(*f, "a path starts with '/', got '" + *path + "'");
      rewrite.path = *path;
    }
  }
  if (auto f = map.get("prefix")) {
    given.push_back(*f);
    if (auto prefix = r.string(*f)) rewrite.prefix = *prefix;
  }
  if (auto f = map.get("regex")) {
    given.push_back(*f);
    MapReader regex(r, *f);
    RegexRewrite rr;
    if (auto p = regex.require("pattern"))
      if (auto pattern = parse_regex(state, *p)) rr.pattern = *pattern;
    if (auto s = regex.require("substitution"))
      if (auto text = r.string(*s)) rr.substitution = *text;
    rewrite.regex = rr;
  }
  if (given.size() > 1)
    r.error(given[1].key_pos(), given[1].path + ": use one of path, prefix and regex");
  return rewrite;
}

}  // namespace

std::optional<std::string> parse_regex(ParseState& state, const Field& field) {
  auto pattern = state.reader.string(field);
  if (!pattern) return std::nullopt;
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern->data()),
                                       pattern->size(), 0, &code, &offset, nullptr);
  if (compiled != nullptr) {
    pcre2_code_free(compiled);
    return pattern;
  }
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(code, message, sizeof message);
  state.reader.error(offset_pos(field, offset),
                     field.path + ": bad regex: " + reinterpret_cast<const char*>(message) +
                         " (at character " + std::to_string(offset + 1) + ")");
  return std::nullopt;
}

std::vector<Cidr> parse_cidr_list(ParseState& state, const Field& field) {
  std::vector<Cidr> out;
  for (const auto& item : state.reader.list(field)) {
    auto text = state.reader.string(item);
    if (!text) continue;
    auto cidr = parse_cidr(*text);
    if (!cidr) {
      state.reader.error(item, cidr.error);
      continue;
    }
    out.push_back(std::move(*cidr.value));
  }
  return out;
}

AccessControl parse_access(ParseState& state, const Field& field) {
  MapReader map(state.reader, field);
  AccessControl access;
  if (auto f = map.get("allow")) access.allow = parse_cidr_list(state, *f);
  if (auto f = map.get("deny")) access.deny = parse_cidr_list(state, *f);
  return access;
}

HeaderRules parse_header_rules(ParseState& state, const Field& field) {
  MapReader map(state.reader, field);
  HeaderRules rules;
  if (auto f = map.get("request")) rules.request = parse_header_direction(state, *f);
  if (auto f = map.get("response")) rules.response = parse_header_direction(state, *f);
  return rules;
}

Redirect parse_redirect(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  Redirect redirect;
  if (!map.valid()) return redirect;
  if (auto f = map.get("status")) {
    if (auto n = r.integer(*f, 300, 399)) {
      if (*n == 301 || *n == 302 || *n == 303 || *n == 307 || *n == 308)
        redirect.status = static_cast<int>(*n);
      else
        r.error(*f, "a redirect status is 301, 302, 303, 307 or 308, got " + std::to_string(*n));
    }
  }
  if (auto f = map.get("scheme"))
    if (auto index = r.choice(*f, {"http", "https"}))
      redirect.scheme = *index == 0 ? "http" : "https";
  if (auto f = map.get("host")) {
    if (auto host = r.string(*f)) {
      if (!is_host_name(*host, false))
        r.error(*f, "expected a host name like www.example.com, got '" + *host + "'");
      redirect.host = *host;
    }
  }
  if (auto f = map.get("port"))
    if (auto n = r.integer(*f, 1, 65535)) redirect.port = static_cast<uint16_t>(*n);
  redirect.path = parse_path_rewrite(state, map);
  if (auto f = map.get("strip_query"))
    if (auto on = r.boolean(*f)) redirect.strip_query = *on;
  return redirect;
}

Rewrite parse_rewrite(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  Rewrite rewrite;
  if (!map.valid()) return rewrite;
  rewrite.path = parse_path_rewrite(state, map);
  if (auto f = map.get("host")) {
    if (auto host = r.string(*f)) {
      // A Host value: a name or address, with an optional port.
      auto colon = host->rfind(':');
      const bool bracketed = !host->empty() && (*host)[0] == '[';
      std::string bare = bracketed || colon == std::string::npos ? *host : host->substr(0, colon);
      if (host->empty() || (!bracketed && !is_host_name(bare, false)))
        r.error(*f, "expected a host like backend.internal or backend.internal:8080, got '" +
                        *host + "'");
      rewrite.host = *host;
    }
  }
  return rewrite;
}

void parse_route_rules(ParseState& state, MapReader& map, Route& route, bool to_cluster) {
  Reader& r = state.reader;
  if (auto f = map.get("rewrite")) {
    route.rewrite = parse_rewrite(state, *f);
    if (!to_cluster) r.error(f->key_pos(), f->path + ": rewrites a request going to a cluster");
  }
  const PathRewrite* path = route.rewrite    ? &route.rewrite->path
                            : route.redirect ? &route.redirect->path
                                             : nullptr;
  if (path && path->prefix && !route.match.path_prefix)
    r.error(map.field().pos(), map.path() +
                                   ": a prefix rewrite replaces match.path_prefix, "
                                   "which this route does not have");
  if (auto f = map.get("headers")) route.headers = parse_header_rules(state, *f);
  if (auto f = map.get("access")) route.access = parse_access(state, *f);
}

std::vector<Field> parse_listener_rules(ParseState& state, MapReader& map, Listener& listener) {
  std::vector<Field> present;
  if (auto f = map.get("access")) {
    listener.rules.access = parse_access(state, *f);
    present.push_back(*f);
  }
  if (auto f = map.get("trusted_proxies")) {
    listener.rules.trusted_proxies = parse_cidr_list(state, *f);
    present.push_back(*f);
  }
  if (auto f = map.get("headers")) {
    listener.rules.headers = parse_header_rules(state, *f);
    present.push_back(*f);
  }
  return present;
}

void parse_query_matches(ParseState& state, const Field& field, std::vector<QueryMatch>& out) {
  Reader& r = state.reader;
  for (const auto& item : r.list(field)) {
    MapReader map(r, item);
    if (!map.valid()) continue;
    QueryMatch q;
    if (auto f = map.require("name")) {
      if (auto name = r.string(*f)) {
        if (name->empty() || name->find_first_of("&=# ") != std::string::npos)
          r.error(*f, "'" + *name + "' is not a query parameter name");
        q.name = *name;
      }
    }
    if (auto f = map.get("exact"))
      if (auto text = r.string(*f)) q.exact = *text;
    out.push_back(std::move(q));
  }
}

}  // namespace sluice::config
