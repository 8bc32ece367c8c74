// Everything a route does to a request beyond choosing where it goes, compiled when the
// snapshot is built: its listener's and its own header rules folded per direction, and the
// path rewrite of its `rewrite` or `redirect`. Built on the control thread; read by workers.
#pragma once

#include <string>

#include "config/config.hpp"
#include "proxy/l7/rules/header_plan.hpp"
#include "proxy/l7/rules/path_rewriter.hpp"

namespace sluice::proxy::rules {

struct RouteRules {
  // `error` is set when a regex did not compile (the rewrite is then left out).
  RouteRules(const config::Listener& listener, const config::Route& route, std::string& error);

  HeaderPlan request_headers;
  HeaderPlan response_headers;
  PathRewriter path;  // rewrite.path, or redirect.path
  bool has_rewrite = false;
};

}  // namespace sluice::proxy::rules
