// The Location header of a route's redirect, from the request and the route's `redirect`.
// Any thread; appends to a buffer the caller reuses.
#pragma once

#include <string>

#include "config/config.hpp"
#include "proxy/l7/h1/message.hpp"
#include "proxy/l7/rules/path_rewriter.hpp"

namespace sluice::proxy::rules {

// Appends the absolute URL: scheme (the redirect's, else https when the request came over
// TLS, else http), host (the redirect's, else the request's Host, whose port is dropped when
// the scheme changes), ":port" when the redirect names one that is not its scheme's default,
// the path (rewritten by `path`), and "?query" unless strip_query.
void redirect_location(const config::Redirect& redirect, const PathRewriter& path,
                       const http::Head& head, bool tls, std::string& scratch, std::string& out);

}  // namespace sluice::proxy::rules
