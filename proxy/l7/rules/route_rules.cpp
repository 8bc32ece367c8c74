#include "proxy/l7/rules/route_rules.hpp"

namespace sluice::proxy::rules {
namespace {

const config::PathRewrite* path_rewrite_of(const config::Route& route) {
  if (route.rewrite) return &route.rewrite->path;
  if (route.redirect) return &route.redirect->path;
  return nullptr;
}

}  // namespace

RouteRules::RouteRules(const config::Listener& listener, const config::Route& route,
                       std::string& error)
    : request_headers(listener.rules.headers.request, route.headers.request),
      response_headers(listener.rules.headers.response, route.headers.response) {
  if (const config::PathRewrite* rewrite = path_rewrite_of(route))
    path = PathRewriter(*rewrite, route.match, error);
  has_rewrite = !path.empty() || (route.rewrite && !route.rewrite->host.empty());
}

}  // namespace sluice::proxy::rules
