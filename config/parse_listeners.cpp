// listeners: name, listen, protocol, tls, proxy_protocol, timeouts, retries, and either a
// cluster (tcp) or routes (http).
#include <algorithm>

#include "config/parse_state.hpp"
#include "config/scalars.hpp"

namespace sluice::config {
namespace {

// Fields whose meaning depends on the listener's protocol, checked once the protocol is known.
struct HttpOnly {
  std::optional<Field> request_timeout;
  std::optional<Field> retry_status;
  std::optional<Field> header_timeout;  // also listener-only
  std::optional<Field> linger;          // also listener-only
  std::optional<Field> backoff;
};

void parse_timeouts(ParseState& state, const Field& field, Timeouts& timeouts, HttpOnly& http) {
  Reader& r = state.reader;
  MapReader map(r, field);
  if (auto f = map.get("connect"))
    if (auto d = r.duration(*f)) timeouts.connect = *d;
  if (auto f = map.get("request")) {
    http.request_timeout.emplace(*f);
    if (auto d = r.duration(*f)) timeouts.request = *d;
  }
  if (auto f = map.get("idle"))
    if (auto d = r.duration(*f)) timeouts.idle = *d;
  if (auto f = map.get("header")) {
    http.header_timeout.emplace(*f);
    if (auto d = r.duration(*f)) timeouts.header = *d;
  }
  if (auto f = map.get("linger")) {
    http.linger.emplace(*f);
    if (auto d = r.duration(*f)) timeouts.linger = *d;
  }
}

// timeouts.header and timeouts.linger belong to the connection, not to one request.
void refuse_connection_timeouts(Reader& r, const HttpOnly& seen, const std::string& why) {
  for (const auto* f : {&seen.header_timeout, &seen.linger})
    if (*f) r.error((*f)->key_pos(), (*f)->path + ": " + why);
}

void parse_retries(ParseState& state, const Field& field, Retries& retries, HttpOnly& http) {
  Reader& r = state.reader;
  MapReader map(r, field);
  if (auto f = map.get("attempts"))
    if (auto n = r.integer(*f, 0, 10)) retries.attempts = static_cast<int>(*n);
  if (auto f = map.get("on")) {
    // Listing `on` replaces the default (connect failures only).
    retries.on_connect_failure = false;
    retries.on_status.clear();
    for (const auto& item : r.list(*f)) {
      if (item.value.IsScalar() && item.value.Scalar() == "connect-failure") {
        retries.on_connect_failure = true;
        continue;
      }
      auto status = item.value.IsScalar() && item.value.Tag() == "?"
                        ? parse_integer(item.value.Scalar())
                        : Parsed<int64_t>::fail("");
      if (!status || *status.value < 100 || *status.value > 599) {
        r.error(item,
                "expected connect-failure or an HTTP status 100..599, got " + describe(item.value));
        continue;
      }
      if (!http.retry_status) http.retry_status.emplace(item);
      retries.on_status.push_back(static_cast<int>(*status.value));
    }
  }
  if (auto f = map.get("backoff")) {
    http.backoff.emplace(*f);
    retries.backoff = parse_retry_backoff(state, *f);
  }
}

std::optional<HeaderMatch> parse_header_match(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  if (!map.valid()) return std::nullopt;
  HeaderMatch header;
  if (auto f = map.require("name")) {
    if (auto name = r.string(*f)) {
      if (!is_token(*name)) r.error(*f, "'" + *name + "' is not a valid header name");
      header.name = *name;
    }
  }
  if (auto f = map.get("exact"))
    if (auto text = r.string(*f)) header.exact = *text;
  return header;
}

RouteMatch parse_match(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  RouteMatch match;
  if (auto f = map.get("host")) {
    if (auto host = r.string(*f)) {
      if (!is_host_name(*host, true))
        r.error(*f,
                "expected a host name like api.example.com or *.example.com, got '" + *host + "'");
      std::transform(host->begin(), host->end(), host->begin(),
                     [](unsigned char c) { return std::tolower(c); });
      match.host = *host;
    }
  }
  auto path_exact = map.get("path_exact");
  auto path_prefix = map.get("path_prefix");
  for (auto* f : {&path_exact, &path_prefix}) {
    if (!*f) continue;
    auto path = r.string(**f);
    if (path && (path->empty() || (*path)[0] != '/'))
      r.error(**f, "a path starts with '/', got '" + *path + "'");
    if (path) (f == &path_exact ? match.path_exact : match.path_prefix) = *path;
  }
  auto path_regex = map.get("path_regex");
  if (path_regex) match.path_regex = parse_regex(state, *path_regex);
  const int paths = (path_exact ? 1 : 0) + (path_prefix ? 1 : 0) + (path_regex ? 1 : 0);
  if (paths > 1)
    r.error((path_regex ? path_regex : path_prefix)->key_pos(),
            (path_regex ? path_regex : path_prefix)->path +
                ": use one of path_exact, path_prefix and path_regex");
  if (auto f = map.get("methods")) {
    for (const auto& item : r.list(*f)) {
      auto method = r.string(item);
      if (!method) continue;
      bool upper = is_token(*method) && std::none_of(method->begin(), method->end(),
                                                     [](char c) { return c >= 'a' && c <= 'z'; });
      if (!upper)
        r.error(item, "expected an HTTP method in upper case like GET, got '" + *method + "'");
      match.methods.push_back(*method);
    }
  }
  if (auto f = map.get("headers"))
    for (const auto& item : r.list(*f))
      if (auto header = parse_header_match(state, item)) match.headers.push_back(*header);
  if (auto f = map.get("query")) parse_query_matches(state, *f, match.query);
  return match;
}

DirectResponse parse_direct_response(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  DirectResponse response;
  if (auto f = map.get("status"))
    if (auto n = r.integer(*f, 100, 599)) response.status = static_cast<int>(*n);
  if (auto f = map.get("body"))
    if (auto body = r.string(*f)) response.body = *body;
  return response;
}

void reference(ParseState& state, Reference::Kind kind, const Field& field, std::string& out,
               bool from_tcp_listener = false) {
  if (auto name = state.reader.name(field)) {
    out = *name;
    state.references.push_back(Reference{kind, *name, field, from_tcp_listener});
  }
}

// A route's name and where it comes from, for the uniqueness check: the `name` field, or the
// route itself when the name is its position.
struct RouteNameAt {
  std::string name;
  Field field;
  bool explicit_name;
};

Route parse_route(ParseState& state, const Field& field, const Listener& listener,
                  std::vector<RouteNameAt>& names) {
  Reader& r = state.reader;
  MapReader map(r, field);
  // A route inherits the listener's timeouts and retries and may override each of them.
  Route route;
  route.timeouts = listener.timeouts;
  route.retries = listener.retries;
  route.max_request_body = listener.max_request_body;
  route.name = std::to_string(listener.routes.size());
  if (!map.valid()) return route;
  if (auto f = map.get("name")) {
    if (auto name = r.name(*f)) {
      route.name = *name;
      names.push_back({*name, *f, true});
    }
  } else {
    names.push_back({route.name, field, false});
  }
  if (auto f = map.require("match")) route.match = parse_match(state, *f);
  auto cluster = map.get("cluster");
  auto direct = map.get("direct_response");
  auto redirect = map.get("redirect");
  if (cluster) reference(state, Reference::Kind::cluster, *cluster, route.cluster);
  if (direct) route.direct_response = parse_direct_response(state, *direct);
  if (redirect) route.redirect = parse_redirect(state, *redirect);
  if ((cluster ? 1 : 0) + (direct ? 1 : 0) + (redirect ? 1 : 0) > 1)
    r.error((redirect ? redirect : direct)->key_pos(),
            (redirect ? redirect : direct)->path +
                ": a route has one of cluster, direct_response and redirect");
  if (!cluster && !direct && !redirect)
    r.error(field.pos(), field.path + ": a route needs cluster, direct_response or redirect");
  parse_route_rules(state, map, route, cluster.has_value());
  if (auto f = map.get("rate_limit"))
    parse_rate_limit_references(state, *f, route.rate_limit, route.more_rate_limits);
  HttpOnly seen;  // routes belong to http listeners, where everything else applies
  if (auto f = map.get("timeouts")) parse_timeouts(state, *f, route.timeouts, seen);
  refuse_connection_timeouts(r, seen, "applies to the listener only (it is not per request)");
  if (auto f = map.get("retries")) parse_retries(state, *f, route.retries, seen);
  if (auto f = map.get("max_request_body"))
    if (auto n = r.size(*f)) route.max_request_body = *n;
  route.deadline = listener.deadline;
  if (auto f = map.get("deadline")) route.deadline = parse_deadline(state, *f);
  if (auto f = map.get("fallback")) route.fallback = parse_fallback(state, *f, route);
  return route;
}

// Names label metrics, so two routes of one listener may not share one, whether it was
// written or is a position. The later route (in file order) is the one reported.
void check_route_names(Reader& r, const std::vector<RouteNameAt>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (names[i].name != names[j].name) continue;
      const std::string first = line_col(names[j].field.pos());
      if (names[i].explicit_name)
        r.error(names[i].field,
                "duplicate route name '" + names[i].name + "' (" +
                    (names[j].explicit_name ? "first at " : "the default name of the route at ") +
                    first + ")");
      else
        r.error(names[i].field.pos(), names[i].field.path + ": this route's default name '" +
                                          names[i].name +
                                          "' (its position) is already used by "
                                          "the route at " +
                                          first + "; give it a name");
      break;
    }
  }
}

// A route matching on a header whose name has '_' can never match when the listener drops
// or refuses such headers: say so instead of letting the route go silently dead.
void check_underscore_matches(Reader& r, const Listener& listener,
                              const std::optional<Field>& routes) {
  if (listener.headers_with_underscores == HeadersWithUnderscores::allow || !routes ||
      !routes->value.IsSequence())
    return;
  const std::string action =
      listener.headers_with_underscores == HeadersWithUnderscores::drop ? "drops" : "refuses";
  for (size_t i = 0; i < listener.routes.size() && i < routes->value.size(); ++i) {
    const auto& headers = listener.routes[i].match.headers;
    for (size_t j = 0; j < headers.size(); ++j) {
      if (headers[j].name.find('_') == std::string::npos) continue;
      const YAML::Node name = routes->value[i]["match"]["headers"][j]["name"];
      const std::string path = routes->path + "[" + std::to_string(i) + "].match.headers[" +
                               std::to_string(j) + "].name";
      r.error(Field(YAML::Node(), name, path, routes->source),
              "this listener " + action +
                  " headers whose name has '_' (headers_with_underscores), so this route can "
                  "never match; use headers_with_underscores: allow");
    }
  }
}

void parse_listener(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  if (!map.valid()) return;
  Listener listener;
  if (auto f = map.require("name")) {
    if (auto name = r.name(*f)) {
      listener.name = *name;
      state.listener_names.push_back({*name, *f});
    }
  }
  if (auto f = map.require("listen")) {
    if (auto address = r.address(*f)) {
      listener.listen = *address;
      state.listens.push_back({*address, *f, "listener '" + listener.name + "'"});
    }
  }
  std::optional<Protocol> protocol;
  if (auto f = map.require("protocol", "http or tcp"))
    if (auto index = r.choice(*f, {"http", "tcp"}))
      protocol = *index == 0 ? Protocol::http : Protocol::tcp;
  if (protocol) listener.protocol = *protocol;

  if (auto f = map.get("tls")) listener.tls = parse_tls(state, *f, protocol == Protocol::http);
  if (auto f = map.get("proxy_protocol"))
    listener.proxy_protocol = parse_proxy_protocol_accept(state, *f);
  HttpOnly http_only;
  if (auto f = map.get("timeouts")) parse_timeouts(state, *f, listener.timeouts, http_only);
  if (auto f = map.get("retries")) parse_retries(state, *f, listener.retries, http_only);
  if (auto f = map.get("rate_limit"))
    parse_rate_limit_references(state, *f, listener.rate_limit, listener.more_rate_limits,
                                protocol == Protocol::tcp);
  std::optional<Field> max_body = map.get("max_request_body");
  if (max_body)
    if (auto n = r.size(*max_body)) listener.max_request_body = *n;
  if (auto f = map.get("max_connections"))
    if (auto n = r.integer(*f, 0, 10'000'000)) listener.max_connections = static_cast<uint32_t>(*n);
  std::optional<Field> deadline = map.get("deadline");
  if (deadline) listener.deadline = parse_deadline(state, *deadline);
  std::optional<Field> underscores = map.get("headers_with_underscores");
  if (underscores)
    if (auto index = r.choice(*underscores, {"allow", "reject", "drop"}))
      listener.headers_with_underscores = static_cast<HeadersWithUnderscores>(*index);

  const std::vector<Field> http_rules = parse_listener_rules(state, map, listener);

  const bool tcp = protocol == Protocol::tcp;
  auto cluster = map.get("cluster");
  if (cluster) reference(state, Reference::Kind::cluster, *cluster, listener.cluster, tcp);
  auto routes = map.get("routes");
  if (routes) {
    auto items = r.list(*routes);
    if (routes->value.IsSequence() && items.empty()) r.error(*routes, "needs at least one route");
    std::vector<RouteNameAt> names;
    for (const auto& item : items)
      listener.routes.push_back(parse_route(state, item, listener, names));
    check_route_names(r, names);
  }

  if (protocol == Protocol::tcp) {
    if (!cluster) r.error(field.pos(), field.path + ": a tcp listener needs a cluster");
    if (routes)
      r.error(routes->key_pos(), routes->path + ": a tcp listener has no routes; use cluster");
    if (max_body) r.error(max_body->key_pos(), max_body->path + ": applies to http listeners only");
    for (const auto* f : {&deadline, &http_only.backoff})
      if (*f) r.error((*f)->key_pos(), (*f)->path + ": applies to http listeners only");
    if (underscores)
      r.error(underscores->key_pos(), underscores->path + ": applies to http listeners only");
    for (const auto& f : http_rules)
      r.error(f.key_pos(), f.path + ": applies to http listeners only");
    if (http_only.request_timeout)
      r.error(http_only.request_timeout->key_pos(),
              http_only.request_timeout->path + ": applies to http listeners only");
    if (http_only.retry_status)
      r.error(*http_only.retry_status, "retrying on an HTTP status applies to http listeners only");
    refuse_connection_timeouts(r, http_only, "applies to http listeners only");
  } else if (protocol == Protocol::http) {
    if (!routes) r.error(field.pos(), field.path + ": an http listener needs routes");
    check_underscore_matches(r, listener, routes);
    if (cluster)
      r.error(cluster->key_pos(), cluster->path +
                                      ": an http listener picks clusters in its routes; cluster "
                                      "is for tcp listeners");
  }
  state.config.listeners.push_back(std::move(listener));
}

}  // namespace

void parse_listeners(ParseState& state, const Field& field) {
  auto items = state.reader.list(field);
  if (field.value.IsSequence() && items.empty())
    state.reader.error(field, "needs at least one listener");
  for (const auto& item : items) parse_listener(state, item);
}

}  // namespace sluice::config
