// YAML text -> validated Config. Control thread only.
#pragma once

#include <functional>
#include <optional>
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

// Where `${NAME}` in a value looks NAME up: its value, or nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process's own environment (getenv): what sluice uses. Fixed for the life of the process,
// so a reload sees the values the start saw.
std::optional<std::string> process_environment(const std::string& name);

struct ParseOptions {
  // Tests and the fuzzer pass their own, so results never depend on the caller's environment.
  EnvLookup env = process_environment;
  // The directory `include:` patterns are relative to. parse_config_file uses the file's own;
  // for text it is empty by default, and then `include:` is an error: parsing a string reads
  // no file unless the caller says where from.
  std::string include_dir;
};

// Parses and validates; never throws. `file` names the source in diagnostics.
ParseResult parse_config_text(const std::string& text, const std::string& file,
                              const ParseOptions& options = {});
// `options.include_dir` is ignored: includes are relative to `path`'s directory.
ParseResult parse_config_file(const std::string& path, const ParseOptions& options = {});

}  // namespace sluice::config
