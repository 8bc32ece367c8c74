// Command line: run with a config, validate one, or say what sluice is.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "config/parse.hpp"
#include "proxy/control/server.hpp"
#include "proxy/core/log.hpp"

namespace {

constexpr const char* kUsage =
    "usage: sluice --config FILE     run the proxy\n"
    "       sluice --validate FILE   check FILE, print every error and warning as\n"
    "                                file:line:col: message (warnings keep exit status 0)\n"
    "       sluice --version | --help\n";

sluice::log::Level to_log_level(sluice::config::LogLevel level) {
  switch (level) {
    case sluice::config::LogLevel::debug:
      return sluice::log::Level::debug;
    case sluice::config::LogLevel::info:
      return sluice::log::Level::info;
    case sluice::config::LogLevel::warn:
      return sluice::log::Level::warn;
    case sluice::config::LogLevel::error:
      return sluice::log::Level::error;
  }
  return sluice::log::Level::info;
}

// Parses `path`; on failure prints every diagnostic and returns null.
std::shared_ptr<const sluice::config::Config> load(const std::string& path) {
  sluice::config::ParseResult result = sluice::config::parse_config_file(path);
  if (!result.ok()) {
    for (const auto& d : result.errors) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    std::fprintf(stderr, "%s: %zu error%s\n", path.c_str(), result.errors.size(),
                 result.errors.size() == 1 ? "" : "s");
    return nullptr;
  }
  return std::make_shared<const sluice::config::Config>(std::move(result.config));
}

// "file:line:col: warning: message", like the errors.
std::string warning_text(const std::string& path, const sluice::config::Warning& w) {
  return path + ":" + std::to_string(w.line) + ":" + std::to_string(w.column) +
         ": warning: " + w.message;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (argc == 2 && !std::strcmp(argv[1], "--version")) {
    std::printf("sluice %s\n", SLUICE_VERSION);
    return 0;
  }
  if (argc == 3 && !std::strcmp(argv[1], "--validate")) {
    auto config = load(argv[2]);
    if (!config) return 1;
    // Warnings do not fail validation: the file is valid, the operator should know.
    for (const auto& w : config->warnings)
      std::fprintf(stderr, "%s\n", warning_text(argv[2], w).c_str());
    std::printf("%s: ok\n", argv[2]);
    return 0;
  }
  if (argc == 3 && !std::strcmp(argv[1], "--config")) {
    auto config = load(argv[2]);
    if (!config) return 1;
    sluice::log::set_level(to_log_level(config->log.level));
    for (const auto& w : config->warnings) LOG_WARN("%s", warning_text(argv[2], w).c_str());
    return sluice::proxy::run_server(argv[2], config);
  }
  std::fputs(kUsage, stderr);
  return 2;
}
