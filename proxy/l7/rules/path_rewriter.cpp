#include "proxy/l7/rules/path_rewriter.hpp"

namespace sluice::proxy::rules {

PathRewriter::PathRewriter(const config::PathRewrite& rewrite, const config::RouteMatch& match,
                           std::string& error) {
  if (rewrite.empty()) return;
  if (rewrite.regex) {
    regex_ = Regex::compile(rewrite.regex->pattern, false, error);
    if (!regex_) return;
  }
  if (rewrite.prefix) {
    if (!match.path_prefix) return;  // the config refuses this
    matched_prefix_ = *match.path_prefix;
  }
  rewrite_ = &rewrite;
}

bool PathRewriter::apply(std::string_view path, std::string& out) const {
  if (rewrite_ == nullptr) return false;
  if (rewrite_->path) {
    out.assign(*rewrite_->path);
  } else if (rewrite_->prefix) {
    if (!path.starts_with(matched_prefix_)) return false;
    out.assign(*rewrite_->prefix);
    out.append(path.substr(matched_prefix_.size()));
  } else if (!regex_->replace(path, rewrite_->regex->substitution, out)) {
    return false;
  }
  if (out.empty()) out.push_back('/');  // assign("/") trips GCC 12 -Wrestrict
  return true;
}

}  // namespace sluice::proxy::rules
