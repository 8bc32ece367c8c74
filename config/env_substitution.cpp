#include "config/env_substitution.hpp"

#include <cstdlib>
#include <set>

namespace sluice::config {
namespace {

constexpr std::string_view kForm =
    " (a reference is ${NAME} or ${NAME:-default}; $$ is a literal $)";

bool starts_name(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool in_name(char c) {
  return starts_name(c) || (c >= '0' && c <= '9');
}

// Expands the reference whose "${" is at text[at]; on success appends to `out` and returns the
// index just past its "}".
size_t expand_reference(std::string_view text, size_t at, const EnvLookup& env, Expansion& out) {
  const size_t close = text.find('}', at + 2);
  if (close == std::string_view::npos) {
    out.error = "'${' without a closing '}'" + std::string(kForm);
    return text.size();
  }
  const std::string_view inside = text.substr(at + 2, close - at - 2);
  size_t name_end = 0;
  while (name_end < inside.size() && in_name(inside[name_end])) ++name_end;
  const std::string name(inside.substr(0, name_end));
  if (inside.empty() || inside.starts_with(":-")) {
    out.error = "empty variable name in '${" + std::string(inside) + "}'" + std::string(kForm);
  } else if (name.empty() || !starts_name(name[0])) {
    const std::string shown(inside.substr(0, inside.find(":-")));
    out.error =
        "'" + shown + "' is not a variable name (letters, digits and _, not starting with a digit)";
  } else if (name_end < inside.size() && !inside.substr(name_end).starts_with(":-")) {
    out.error = "unexpected '" + std::string(inside.substr(name_end)) + "' after '${" + name + "'" +
                std::string(kForm);
  }
  if (!out.error.empty()) return text.size();
  out.had_reference = true;

  const std::optional<std::string> value = env(name);
  const bool has_default = name_end < inside.size();
  if (value && (!value->empty() || !has_default)) {
    out.text += *value;
    return close + 1;
  }
  if (!has_default) {
    out.error = "environment variable '" + name + "' is not set (give a default with ${" + name +
                ":-...} if it may be missing)";
    return text.size();
  }
  const std::string_view fallback = inside.substr(name_end + 2);
  for (size_t i = 0; i < fallback.size(); ++i) {
    if (fallback[i] != '$' || i + 1 == fallback.size()) {
      out.text += fallback[i];
    } else if (fallback[i + 1] == '$') {
      out.text += '$';
      ++i;
    } else if (fallback[i + 1] == '{') {
      out.error = "the default of '${" + name + "' holds '${': references do not nest";
      return text.size();
    } else {
      out.text += '$';
    }
  }
  return close + 1;
}

// Walks one file's tree. yaml-cpp has no node identity to compare, but no two nodes that hold
// text start at the same byte, so the start offset stands in for it: an alias (`*name`) is the
// node it names, and expanding it twice would expand the output of the first pass.
class Substituter {
 public:
  Substituter(Reader& reader, const EnvLookup& env, int source)
      : reader_(reader), env_(env), source_(source) {}

  void walk(const YAML::Node& node, const std::string& path) {
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null() && !seen_.insert(mark.pos).second) return;
    if (node.IsScalar()) {
      expand(node, path);
    } else if (node.IsSequence()) {
      size_t i = 0;
      for (const YAML::Node& item : node) walk(item, path + "[" + std::to_string(i++) + "]");
    } else if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::detail::iterator_value pair = *it;  // a copy: see MapReader
        const std::string key = pair.first.IsScalar() ? pair.first.Scalar() : "?";
        walk(pair.second, path.empty() ? key : path + "." + key);
      }
    }
  }

 private:
  // `node` is a copy of the handle, so assigning to it writes the shared node in the tree.
  void expand(YAML::Node node, const std::string& path) {
    if (node.Scalar().find('$') == std::string::npos) return;
    Expansion result = expand_env(node.Scalar(), env_);
    if (!result.error.empty()) {
      reader_.final_error(pos_of(node, source_), (path.empty() ? "" : path + ": ") + result.error);
      return;
    }
    // Assigning a string to a node rewrites that node of the tree in place (its mark and tag
    // stay): here that is the point. Elsewhere nodes are never assigned (see Field).
    node = result.text;
    // Plain ("?") is what makes Reader read a number or boolean; see the header on quotes.
    if (result.had_reference && node.Tag() == "!") node.SetTag("?");
  }

  Reader& reader_;
  const EnvLookup& env_;
  int source_;
  std::set<size_t> seen_;
};

}  // namespace

std::optional<std::string> process_environment(const std::string& name) {
  // getenv, not secure_getenv: sluice is not setuid, and operators expect the plain rules.
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Expansion expand_env(std::string_view text, const EnvLookup& env) {
  Expansion out;
  out.text.reserve(text.size());
  size_t i = 0;
  while (i < text.size() && out.error.empty()) {
    if (text[i] != '$' || i + 1 == text.size()) {
      out.text += text[i++];
    } else if (text[i + 1] == '$') {
      out.text += '$';
      i += 2;
    } else if (text[i + 1] == '{') {
      i = expand_reference(text, i, env, out);
    } else {
      out.text += text[i++];
    }
  }
  return out;
}

void substitute_env(Reader& reader, const Field& root, const EnvLookup& env) {
  Substituter(reader, env, root.source).walk(root.value, root.path);
}

}  // namespace sluice::config
