// Command line: run with a config, validate one, or say what sluice is. Long options
// take their value as the next argument or after '=' (`--config=FILE`); -c and -t are
// HAProxy's and nginx's habits for --config and --validate.
#include <openssl/crypto.h>

#include <boost/json.hpp>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/parse.hpp"
#include "proxy/control/control_plane.hpp"
#include "proxy/control/reload_summary.hpp"
#include "proxy/control/server.hpp"
#include "proxy/core/io_uring_support.hpp"
#include "proxy/core/log.hpp"
#include "proxy/tls/check.hpp"
#include "sluice_commit.h"

namespace {

constexpr const char* kUsage =
    "usage: sluice -c|--config FILE     run the proxy\n"
    "       sluice -t|--validate FILE   check FILE, print every error and warning as\n"
    "                                   file:line:col: message (warnings keep exit status 0);\n"
    "                                   --format json prints one JSON object for tools;\n"
    "                                   --against RUNNING also prints what reloading FILE\n"
    "                                   over the config file RUNNING would change\n"
    "       sluice -v|--version         the build: commit, compiler, libraries, and what\n"
    "                                   this kernel's io_uring offers\n"
    "       sluice -h|--help\n";

enum class Command { run, validate, version, help };

struct Invocation {
  Command command = Command::help;
  std::string file;
  bool json = false;    // --validate --format json
  std::string against;  // --validate --against RUNNING
};

// Exactly one command; a wrong command line says what is wrong with it (nullopt).
std::optional<Invocation> parse_arguments(int argc, char** argv) {
  auto fail = [](const std::string& why) -> std::optional<Invocation> {
    std::fprintf(stderr, "sluice: %s\n%s", why.c_str(), kUsage);
    return std::nullopt;
  };
  if (argc < 2) return fail("no command given");
  std::string_view arg = argv[1];
  std::optional<std::string> inline_value;  // --config=FILE
  if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
    inline_value = std::string(arg.substr(eq + 1));
    arg = arg.substr(0, eq);
  }
  Invocation inv;
  bool takes_file = false;
  if (arg == "-c" || arg == "--config") {
    inv.command = Command::run, takes_file = true;
  } else if (arg == "-t" || arg == "--validate") {
    inv.command = Command::validate, takes_file = true;
  } else if (arg == "-v" || arg == "-V" || arg == "--version") {
    inv.command = Command::version;
  } else if (arg == "-h" || arg == "--help") {
    inv.command = Command::help;
  } else if (arg.starts_with("-")) {
    return fail("unknown option '" + std::string(arg) + "'");
  } else {
    return fail("unexpected argument '" + std::string(arg) +
                "' (to run a config: sluice --config " + std::string(arg) + ")");
  }
  int next = 2;
  if (takes_file) {
    if (inline_value) {
      inv.file = *inline_value;
    } else if (argc > 2) {
      inv.file = argv[next++];
    }
    if (inv.file.empty()) return fail("option '" + std::string(arg) + "' needs a FILE");
  } else if (inline_value) {
    return fail("option '" + std::string(arg) + "' takes no value");
  }
  // --format json|text and --against RUNNING, after --validate FILE only, in any order.
  while (next < argc && inv.command == Command::validate) {
    std::string_view opt = argv[next];
    std::string name(opt.substr(0, opt.find('=')));
    if (name != "--format" && name != "--against") break;  // reported below
    std::string value;
    if (opt.size() > name.size()) {
      value = std::string(opt.substr(name.size() + 1));
      ++next;
    } else {
      if (next + 1 >= argc) return fail("option '" + name + "' needs a value");
      value = argv[next + 1];
      next += 2;
    }
    if (name == "--against") {
      if (value.empty()) return fail("option '--against' needs a FILE");
      inv.against = value;
    } else if (value == "json" || value == "text") {
      inv.json = value == "json";
    } else {
      return fail("option '--format' takes json or text, not '" + value + "'");
    }
  }
  if (next < argc) return fail("unexpected argument '" + std::string(argv[next]) + "'");
  return inv;
}

// Parses `path` and, when it is valid, loads the TLS files it names the way a start would:
// a missing certificate or a key that does not match is an error at its place in the file.
sluice::config::ParseResult parse_and_check(const std::string& path) {
  sluice::config::ParseResult result = sluice::config::parse_config_file(path);
  if (result.ok())
    for (auto& d : sluice::proxy::tls::check_tls_files(result.config))
      result.errors.push_back(std::move(d));
  return result;
}

// --validate --format json: {"file", "ok", "errors": [{file, line, column, message}],
// "warnings": [...]} on stdout, so CI and editors need not parse the text form. Each error and
// warning names its own file: it may be one the config includes. Exit status as for text.
// With --against RUNNING: "against" and "plan" (one string per change), or "against_errors"
// (and ok false) when RUNNING does not validate.
int validate_json(const std::string& path, const std::string& against) {
  namespace json = boost::json;
  sluice::config::ParseResult result = parse_and_check(path);
  json::array errors, warnings;
  for (const auto& d : result.errors)
    errors.push_back(json::object{
        {"file", d.file}, {"line", d.line}, {"column", d.column}, {"message", d.message}});
  if (result.ok())
    for (const auto& w : result.config.warnings)
      warnings.push_back(json::object{
          {"file", w.file}, {"line", w.line}, {"column", w.column}, {"message", w.message}});
  json::object out{{"file", path},
                   {"ok", result.ok()},
                   {"errors", std::move(errors)},
                   {"warnings", std::move(warnings)}};
  bool ok = result.ok();
  if (!against.empty() && ok) {
    out["against"] = against;
    sluice::config::ParseResult running = sluice::config::parse_config_file(against);
    if (running.ok()) {
      json::array plan;
      for (const std::string& line : sluice::proxy::plan_reload(
               running.config, sluice::proxy::worker_count_for(running.config), result.config))
        plan.push_back(json::string(line));
      out["plan"] = std::move(plan);
    } else {
      json::array running_errors;
      for (const auto& d : running.errors)
        running_errors.push_back(json::object{
            {"file", d.file}, {"line", d.line}, {"column", d.column}, {"message", d.message}});
      out["against_errors"] = std::move(running_errors);
      out["ok"] = ok = false;
    }
  }
  std::printf("%s\n", json::serialize(out).c_str());
  return ok ? 0 : 1;
}

// What a bug report needs: the build, the libraries, and what the kernel offers.
void print_version() {
#if defined(__clang__)
  const char* compiler = "clang " __clang_version__;
#else
  const char* compiler = "GCC " __VERSION__;
#endif
  std::printf("sluice %s (commit %s)\n", SLUICE_VERSION, SLUICE_COMMIT);
  std::printf("built with %s; liburing %s; %s (built against %s)\n", compiler,
              SLUICE_LIBURING_VERSION, OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT);
  std::printf("%s\n", sluice::proxy::describe_io_uring_support().c_str());
}

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
  sluice::config::ParseResult result = parse_and_check(path);
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
  return (w.file.empty() ? path : w.file) + ":" + std::to_string(w.line) + ":" +
         std::to_string(w.column) + ": warning: " + w.message;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Invocation> inv = parse_arguments(argc, argv);
  if (!inv) return 2;
  switch (inv->command) {
    case Command::help:
      std::fputs(kUsage, stdout);
      return 0;
    case Command::version:
      print_version();
      return 0;
    case Command::validate: {
      if (inv->json) return validate_json(inv->file, inv->against);
      auto config = load(inv->file);
      if (!config) return 1;
      // Warnings do not fail validation: the file is valid, the operator should know.
      for (const auto& w : config->warnings)
        std::fprintf(stderr, "%s\n", warning_text(inv->file, w).c_str());
      std::printf("%s: ok\n", inv->file.c_str());
      if (!inv->against.empty()) {
        auto running = load(inv->against);  // prints its errors
        if (!running) return 1;
        std::printf("reloading %s over %s would:\n", inv->file.c_str(), inv->against.c_str());
        for (const std::string& line : sluice::proxy::plan_reload(
                 *running, sluice::proxy::worker_count_for(*running), *config))
          std::printf("  %s\n", line.c_str());
      }
      return 0;
    }
    case Command::run: {
      auto config = load(inv->file);
      if (!config) return 1;
      sluice::log::set_level(to_log_level(config->log.level));
      sluice::log::set_format(config->log.format == sluice::config::Log::Format::json
                                  ? sluice::log::Format::json
                                  : sluice::log::Format::text);
      for (const auto& w : config->warnings) LOG_WARN("%s", warning_text(inv->file, w).c_str());
      return sluice::proxy::run_server(inv->file, config);
    }
  }
  return 2;
}
