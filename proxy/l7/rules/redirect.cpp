#include "proxy/l7/rules/redirect.hpp"

#include "proxy/l7/h1/route.hpp"

namespace sluice::proxy::rules {

void redirect_location(const config::Redirect& redirect, const PathRewriter& path,
                       const http::Head& head, bool tls, std::string& scratch, std::string& out) {
  const std::string_view from_scheme = tls ? "https" : "http";
  const std::string_view scheme = redirect.scheme.empty() ? from_scheme : redirect.scheme;
  out += scheme;
  out += "://";
  if (!redirect.host.empty()) {
    out += redirect.host;
  } else if (scheme != from_scheme || redirect.port != 0) {
    out += http::host_without_port(head.host);  // the old port belongs to the old scheme
  } else {
    out += head.host;
  }
  const uint16_t default_port = scheme == "https" ? 443 : 80;
  if (redirect.port != 0 && redirect.port != default_port) {
    out += ':';
    out += std::to_string(redirect.port);
  }
  out += path.apply(head.path, scratch) ? std::string_view(scratch) : head.path;
  if (head.has_query && !redirect.strip_query) {
    out += '?';
    out += head.query;
  }
}

}  // namespace sluice::proxy::rules
