// The typed request and response rules of http listeners and routes: access by client CIDR,
// header rules with value templates, redirects and rewrites. Plain data, like config.hpp,
// which includes it; parsed by parse_rules.cpp, compiled for workers by proxy/l7/rules/.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/values.hpp"

namespace sluice::config {

// A query parameter a route wants (`?name=value`, as received, not decoded).
struct QueryMatch {
  std::string name;
  std::optional<std::string> exact;  // absent: the parameter must merely be present
};

// Listener.trusted_proxies: peers whose X-Forwarded-For is believed. The client behind them
// (the right-most address not in the list) is the client IP of limits, hashing, header rules
// and the access log; X-Forwarded-For sent on still gets the peer appended.
//
// allow/deny by the client's address (the real client's, after trusted_proxies): a client in
// `deny` is refused; when `allow` is not empty, so is every client outside it.
struct AccessControl {
  std::vector<Cidr> allow;
  std::vector<Cidr> deny;
  bool empty() const { return allow.empty() && deny.empty(); }
};

// What a header value template may name: `%{client_ip}` and so on (config/value_template.hpp).
enum class TemplateVariable {
  client_ip,
  request_id,
  host,
  tls_sni,
  tls_version,
  tls_cipher,
  tls_alpn,
  tls_client_subject,
};

// A header value with variables, parsed once: literal text and variables in order.
struct ValueTemplate {
  struct Part {
    std::string literal;  // used when !variable
    std::optional<TemplateVariable> variable;
  };
  std::string text;  // as written
  std::vector<Part> parts;
};

// One header rule. remove: drop every field of that name; set: drop them and send this one;
// add: send this one besides any others.
struct HeaderRule {
  enum class Kind { remove, set, add } kind = Kind::add;
  std::string name;
  ValueTemplate value;  // set and add
};

// Header rules of a listener or route, in the order they apply (removes, then sets, then adds,
// each in file order). A route's apply after its listener's.
struct HeaderRules {
  std::vector<HeaderRule> request;   // towards the endpoint
  std::vector<HeaderRule> response;  // towards the client (endpoint responses only)
  bool empty() const { return request.empty() && response.empty(); }
};

// `path_regex` rewrites: every match of `pattern` in the path replaced by `substitution`
// ($1, ${name} name capture groups; PCRE2 syntax).
struct RegexRewrite {
  std::string pattern;
  std::string substitution;
};

// How a path is rewritten (at most one of the three): replaced whole, the route's matched
// path_prefix replaced, or by a regex.
struct PathRewrite {
  std::optional<std::string> path;
  std::optional<std::string> prefix;
  std::optional<RegexRewrite> regex;
  bool empty() const { return !path && !prefix && !regex; }
};

// A route that answers with a redirect instead of going to a cluster. Unset parts keep the
// request's: scheme (http, https behind TLS), host (with its port unless the scheme or host
// changes), path; the query is kept unless strip_query.
struct Redirect {
  int status = 302;  // 301, 302, 303, 307 or 308
  std::string scheme;
  std::string host;
  uint16_t port = 0;
  PathRewrite path;
  bool strip_query = false;
};

// What a routed request looks like to its endpoint: path and Host rewritten (X-Forwarded-Host
// keeps the client's Host).
struct Rewrite {
  PathRewrite path;
  std::string host;
};

// A listener's own keys among the rules (a route has its own access and headers).
struct ListenerRules {
  AccessControl access;  // before routing
  std::vector<Cidr> trusted_proxies;
  HeaderRules headers;  // before every route's own
};

}  // namespace sluice::config
