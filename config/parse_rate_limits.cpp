// rate_limits[] entries, and the `rate_limit:` references of listeners and routes to them.
#include <strings.h>

#include <algorithm>

#include "config/parse_state.hpp"
#include "config/scalars.hpp"

namespace sluice::config {
namespace {

// "client_ip", "route", "global", "header:X-Api-Key".
std::optional<RateLimitKey> parse_rate_limit_key(Reader& r, const Field& field) {
  auto text = r.string(field);
  if (!text) return std::nullopt;
  RateLimitKey key;
  if (*text == "client_ip") return key;
  if (*text == "route") {
    key.source = RateLimitKey::Source::route;
    return key;
  }
  if (*text == "global") {
    key.source = RateLimitKey::Source::global;
    return key;
  }
  if (text->rfind("header:", 0) == 0 && is_token(text->substr(7))) {
    key.source = RateLimitKey::Source::header;
    key.header = text->substr(7);
    return key;
  }
  r.error(field, "expected client_ip, route, global or header:NAME, got '" + *text + "'");
  return std::nullopt;
}

// `key: client_ip` or a combined key `key: [client_ip, route]`: every part of the list counts,
// in order; `global` is one key for everything, so it combines with nothing.
void parse_rate_limit_keys(Reader& r, const Field& field, RateLimit& limit) {
  if (!field.value.IsSequence()) {
    if (auto key = parse_rate_limit_key(r, field)) limit.key = *key;
    return;
  }
  const std::vector<Field> items = r.list(field);
  if (items.empty()) r.error(field, "a combined key needs at least one part");
  std::vector<RateLimitKey> parts;
  for (const Field& item : items) {
    auto key = parse_rate_limit_key(r, item);
    if (!key) continue;
    if (key->source == RateLimitKey::Source::global && items.size() > 1) {
      r.error(item, "global is one key for everything: it combines with nothing");
      continue;
    }
    for (const RateLimitKey& seen : parts)
      if (seen.source == key->source && ::strcasecmp(seen.header.c_str(), key->header.c_str()) == 0)
        r.error(item, "this part of the key is there already");
    parts.push_back(*key);
  }
  if (parts.empty()) return;
  limit.key = parts.front();
  limit.more_keys.assign(parts.begin() + 1, parts.end());
}

void parse_rate_limit(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  if (!map.valid()) {
    state.rate_limit_names_complete = false;
    return;
  }
  RateLimit limit;
  auto name = map.require("name");
  if (name)
    if (auto text = r.name(*name)) limit.name = *text;
  if (limit.name.empty())
    state.rate_limit_names_complete = false;
  else
    state.rate_limit_names.push_back({limit.name, *name});

  if (auto f = map.get("key")) parse_rate_limit_keys(r, *f, limit);
  std::optional<size_t> algorithm;
  if (auto f = map.get("algorithm"))
    if ((algorithm =
             r.choice(*f, {"token_bucket", "sliding_window", "fixed_window", "leaky_bucket"})))
      limit.algorithm = static_cast<RateLimit::Algorithm>(*algorithm);
  using Algorithm = RateLimit::Algorithm;
  const bool leaky = limit.algorithm == Algorithm::leaky_bucket;
  if (auto f = map.require("rate", "e.g. 100/s"))
    if (auto rate = r.rate(*f)) limit.rate = *rate;
  if (auto f = map.get("burst")) {
    if (limit.algorithm != Algorithm::token_bucket && !leaky)
      r.error(f->key_pos(), f->path + ": applies to algorithms token_bucket and leaky_bucket only");
    if (auto n = r.integer(*f, 1, 1'000'000'000)) limit.burst = static_cast<uint64_t>(*n);
  }
  if (auto f = map.get("queue")) {
    if (!leaky) r.error(f->key_pos(), f->path + ": applies to algorithm leaky_bucket only");
    if (auto n = r.integer(*f, 0, 1'000'000)) limit.queue = static_cast<uint32_t>(*n);
  } else if (leaky) {
    // One period's worth: a client may be up to `per` behind before it is refused.
    limit.queue = static_cast<uint32_t>(std::min<uint64_t>(limit.rate.count, 1'000'000));
  }
  if (auto f = map.get("headers"))
    if (auto index = r.choice(*f, {"on_limit", "always"})) limit.headers_always = *index == 1;
  if (auto f = map.get("scope")) {
    if (auto index = r.choice(*f, {"local", "global"})) {
      limit.scope = static_cast<RateLimit::Scope>(*index);
      if (limit.scope == RateLimit::Scope::global) {
        state.global_scopes.push_back(*f);
        // Shaping queues requests on the instance that holds them: releasing them at a rate
        // shared by every instance would need all the queues in one place.
        if (limit.algorithm == RateLimit::Algorithm::leaky_bucket)
          r.error(*f,
                  "global with algorithm leaky_bucket: shaping queues are per instance; use "
                  "token_bucket, sliding_window or fixed_window, or scope: local");
      }
    }
  }
  if (auto f = map.get("max_keys"))
    if (auto n = r.integer(*f, 1, 100'000'000)) limit.max_keys = static_cast<uint32_t>(*n);
  state.config.rate_limits.push_back(std::move(limit));
}

// One `rate_limit:` name, checked against rate_limits[] once everything is read.
void reference(ParseState& state, const Field& field, std::string& out, bool from_tcp_listener) {
  if (auto name = state.reader.name(field)) {
    out = *name;
    state.references.push_back(
        Reference{Reference::Kind::rate_limit, *name, field, from_tcp_listener});
  }
}

}  // namespace

void parse_rate_limits(ParseState& state, const Field& field) {
  if (!field.value.IsSequence()) state.rate_limit_names_complete = false;
  for (const auto& item : state.reader.list(field)) parse_rate_limit(state, item);
}

// Every one of a list must admit, checked in order. A tcp listener admits connections: one limit
// (and no queue, validate_references).
void parse_rate_limit_references(ParseState& state, const Field& field, std::string& first,
                                 std::vector<std::string>& more, bool from_tcp_listener) {
  if (!field.value.IsSequence()) {
    reference(state, field, first, from_tcp_listener);
    return;
  }
  Reader& r = state.reader;
  if (from_tcp_listener) {
    r.error(field, "a tcp listener takes one rate limit, not a list");
    return;
  }
  const std::vector<Field> items = r.list(field);
  if (items.empty()) r.error(field, "expected at least one rate limit name");
  for (size_t i = 0; i < items.size(); ++i) {
    std::string name;
    reference(state, items[i], name, false);
    for (size_t j = 0; j < i; ++j)
      if (!name.empty() && items[j].value.Scalar() == name)
        r.error(items[i], "rate limit '" + name + "' is in this list already");
    (i == 0 ? first : more.emplace_back()) = std::move(name);
  }
}

}  // namespace sluice::config
