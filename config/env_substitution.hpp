// `${NAME}` and `${NAME:-default}` in config values, as docker-compose and envsubst spell them,
// with `$$` for a literal `$`. Done on the parsed YAML tree, never on the text: a value from the
// environment is always one scalar (it cannot add keys or break the YAML, whatever it holds),
// keys and comments are left alone, and every problem has the value's own line and column.
// Control thread only.
#pragma once

#include <string>
#include <string_view>

#include "config/parse.hpp"
#include "config/yaml_reader.hpp"

namespace sluice::config {

struct Expansion {
  std::string text;  // the value with every reference replaced and `$$` made `$`
  bool had_reference = false;
  std::string error;  // why the value cannot be expanded (then `text` means nothing); names the
                      // variable, never a value from the environment
};

// Expands one value. `${NAME}` needs NAME set (an empty value is a value); `${NAME:-default}`
// takes the default when NAME is unset or empty. The default is literal text up to the first
// `}` (where `$$` is still `$`, and `${` is an error: references do not nest). A `$` followed
// by anything else is kept as it is. NAME is [A-Za-z_][A-Za-z0-9_]*.
Expansion expand_env(std::string_view text, const EnvLookup& env);

// Expands, in place, every scalar value under `root` (map keys are names, not values, and are
// left as written), reporting each value that cannot be expanded at its position. A quoted
// value that held a reference takes its type from the expanded text, like a plain one: quotes
// around `"${PORT}"` protect the reference from YAML (inside `[...]` or `{...}`), they do not
// say "string". A quoted value without a reference (`"4"`) stays a string.
void substitute_env(Reader& reader, const Field& root, const EnvLookup& env);

}  // namespace sluice::config
