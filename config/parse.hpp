// YAML text -> validated Config. Control thread only.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace sluice::config {

// One problem found in a config file, printed as "file:line:col: message".
struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when not tied to a place in the file
  int column = 0;  // 1-based
  std::string message;
  std::string to_string() const;
};

struct ParseResult {
  Config config;                   // meaningful only when errors is empty
  std::vector<Diagnostic> errors;  // every error found, in file order
  bool ok() const { return errors.empty(); }
};

// Parses and validates; never throws. `file` names the source in diagnostics.
ParseResult parse_config_text(const std::string& text, const std::string& file);
ParseResult parse_config_file(const std::string& path);

}  // namespace sluice::config
