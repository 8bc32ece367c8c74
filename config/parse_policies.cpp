// clusters[].sticky_cookie and retry_budget, retries.backoff, deadline (listeners and routes)
// and routes[].fallback: the traffic policies of config/traffic_policy.hpp.
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/parse_state.hpp"
#include "config/scalars.hpp"

namespace sluice::config {
namespace {

// What a header value or cookie attribute may hold: visible ASCII, spaces and tabs; no CR, LF
// or other controls that would split the line it is written into.
bool is_field_text(std::string_view text) {
  for (const char c : text)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

std::optional<std::string> token(Reader& r, const Field& f, const char* what) {
  auto text = r.string(f);
  if (text && !is_token(*text)) {
    r.error(f, "'" + *text + "' is not a valid " + what);
    return std::nullopt;
  }
  return text;
}

// A fallback body from a file, read once when the config loads (and on every reload), so a
// request never touches the disk. Regular files only, at most 1 MiB.
constexpr off_t kMaxBodyFile = 1024 * 1024;
std::string read_body_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "cannot read " + path + ": " + std::strerror(errno);
  struct stat st {};
  std::string why;
  if (::fstat(fd, &st) != 0) {
    why = "cannot read " + path + ": " + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = path + " is not a regular file";
  } else if (st.st_size > kMaxBodyFile) {
    why = path + " is longer than 1 MiB";
  } else {
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    if (done < out.size()) why = "cannot read " + path + ": short read";
  }
  ::close(fd);
  return why;
}

StaticResponse parse_static_response(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  StaticResponse response;
  if (auto f = map.get("status"))
    if (auto n = r.integer(*f, 200, 599)) response.status = static_cast<int>(*n);
  if (auto f = map.get("headers")) {
    if (!f->value.IsMap()) {
      r.error(*f, "expected a map of header names to values, got " + describe(f->value));
    } else {
      for (auto it = f->value.begin(); it != f->value.end(); ++it) {
        const std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
        Field value(it->first, it->second, f->path + "." + name, f->source);
        if (!is_token(name)) {
          r.error(value.key_pos(), value.path + ": not a valid header name");
          continue;
        }
        // sluice frames the response itself: a second length or a close would contradict it.
        for (const char* framing : {"content-length", "transfer-encoding", "connection"})
          if (strcasecmp(name.c_str(), framing) == 0)
            r.error(value.key_pos(), value.path + ": sluice sets this header itself");
        auto text = r.string(value);
        if (!text) continue;
        if (!is_field_text(*text)) r.error(value, "a header value cannot hold control characters");
        response.headers.emplace_back(name, *text);
      }
    }
  }
  auto body = map.get("body");
  auto body_file = map.get("body_file");
  if (body)
    if (auto text = r.string(*body)) response.body = *text;
  if (body && body_file)
    r.error(body_file->key_pos(), body_file->path + ": use body or body_file, not both");
  if (body_file && !body) {
    if (auto path = r.string(*body_file)) {
      response.body_file = *path;
      if (std::string why = read_body_file(*path, response.body); !why.empty())
        r.error(*body_file, why);
    }
  }
  return response;
}

}  // namespace

StickyCookie parse_sticky_cookie(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  StickyCookie cookie;
  if (auto f = map.get("name"))
    if (auto name = token(r, *f, "cookie name")) cookie.name = *name;
  if (auto f = map.get("path")) {
    if (auto path = r.string(*f)) {
      if (path->empty() || (*path)[0] != '/' || !is_field_text(*path) ||
          path->find(';') != std::string::npos)
        r.error(*f, "expected a path starting with '/' without ';', got '" + *path + "'");
      cookie.path = *path;
    }
  }
  if (auto f = map.get("domain")) {
    if (auto domain = r.string(*f)) {
      if (!is_host_name(*domain, false))
        r.error(*f, "expected a domain name like example.com, got '" + *domain + "'");
      cookie.domain = *domain;
    }
  }
  if (auto f = map.get("max_age"))
    if (auto d = r.duration(*f)) cookie.max_age = *d;
  if (auto f = map.get("httponly"))
    if (auto on = r.boolean(*f)) cookie.http_only = *on;
  if (auto f = map.get("secure"))
    if (auto on = r.boolean(*f)) cookie.secure = *on;
  auto same_site = map.get("samesite");
  if (same_site)
    if (auto index = r.choice(*same_site, {"lax", "strict", "none"}))
      cookie.same_site = static_cast<StickyCookie::SameSite>(*index + 1);
  // Browsers drop a SameSite=None cookie that is not Secure: stickiness would silently fail.
  if (same_site && cookie.same_site == StickyCookie::SameSite::none && !cookie.secure)
    r.error(*same_site, "samesite: none needs secure: true (browsers refuse it otherwise)");
  if (auto f = map.get("secret")) {
    if (auto secret = r.string(*f)) {
      if (secret->empty()) r.error(*f, "must not be empty");
      cookie.secret = *secret;
    }
  }
  return cookie;
}

RetryBudget parse_retry_budget(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  RetryBudget budget;
  if (auto f = map.get("ratio")) {
    if (auto ratio = r.number(*f)) {
      if (*ratio <= 0.0 || *ratio > 1.0)
        r.error(*f, "must be greater than 0 and at most 1, got " + f->value.Scalar());
      else
        budget.ratio = *ratio;
    }
  }
  if (auto f = map.get("min_concurrency"))
    if (auto n = r.integer(*f, 0, 1'000'000)) budget.min_concurrency = static_cast<uint32_t>(*n);
  return budget;
}

RetryBackoff parse_retry_backoff(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  RetryBackoff backoff;
  if (auto f = map.require("base"))
    if (auto d = r.duration(*f)) backoff.base = *d;
  auto max = map.get("max");
  if (max)
    if (auto d = r.duration(*max)) backoff.max = *d;
  // Envoy's default: ten times the base.
  if (!max) backoff.max = backoff.base * 10;
  if (max && backoff.max < backoff.base) r.error(*max, "must not be shorter than base");
  if (backoff.max > std::chrono::milliseconds(60000) && max) r.error(*max, "must be at most 60s");
  return backoff;
}

Deadline parse_deadline(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  MapReader map(r, field);
  Deadline deadline;
  if (auto f = map.require("header"))
    if (auto name = token(r, *f, "header name")) deadline.header = *name;
  if (auto f = map.get("propagate"))
    if (auto on = r.boolean(*f)) deadline.propagate = *on;
  if (auto f = map.get("trust_incoming"))
    if (auto on = r.boolean(*f)) deadline.trust_incoming = *on;
  return deadline;
}

Fallback parse_fallback(ParseState& state, const Field& field, const Route& route) {
  Reader& r = state.reader;
  MapReader map(r, field);
  Fallback fallback;
  if (auto f = map.get("on")) {
    fallback.on = 0;
    auto items = r.list(*f);
    if (f->value.IsSequence() && items.empty()) r.error(*f, "needs at least one reason");
    for (const auto& item : items)
      if (auto index = r.choice(item, {kFallbackReasonNames[0], kFallbackReasonNames[1],
                                       kFallbackReasonNames[2], kFallbackReasonNames[3]}))
        fallback.on |= static_cast<uint8_t>(1u << *index);
  }
  auto response = map.get("response");
  auto cluster = map.get("cluster");
  if (response) fallback.response = parse_static_response(state, *response);
  if (cluster) {
    if (auto name = r.name(*cluster)) {
      fallback.cluster = *name;
      state.references.push_back(Reference{Reference::Kind::cluster, *name, *cluster, false});
    }
  }
  if (response && cluster)
    r.error(cluster->key_pos(), cluster->path + ": a fallback has response or cluster, not both");
  if (!response && !cluster && map.valid())
    r.error(field.pos(), field.path + ": a fallback needs response or cluster");
  if (route.direct_response)
    r.error(field.key_pos(),
            field.path + ": a direct_response route has no cluster to fall back from");
  if (cluster && !route.cluster.empty() && fallback.cluster == route.cluster)
    r.error(*cluster, "the fallback cluster is the route's own cluster");
  return fallback;
}

}  // namespace sluice::config
