// A route's path rewrite (`rewrite` or `redirect`), compiled: the whole path replaced, the
// route's matched path_prefix replaced, or a PCRE2 substitution. Built on the control thread;
// workers apply it into a buffer they reuse.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "proxy/l7/rules/regex.hpp"

namespace sluice::proxy::rules {

class PathRewriter {
 public:
  PathRewriter() = default;
  // `error` says why a regex did not compile (the config checked it, so only a PCRE2 that
  // disagrees with itself gets there); the rewriter then leaves paths alone.
  PathRewriter(const config::PathRewrite& rewrite, const config::RouteMatch& match,
               std::string& error);

  bool empty() const { return rewrite_ == nullptr; }
  // The rewritten path into `out` (its capacity reused); false when the path stays as it is.
  // A result that would be empty is "/".
  bool apply(std::string_view path, std::string& out) const;

 private:
  const config::PathRewrite* rewrite_ = nullptr;
  std::string_view matched_prefix_;  // the route's match.path_prefix, for prefix rewrites
  std::unique_ptr<Regex> regex_;
};

}  // namespace sluice::proxy::rules
