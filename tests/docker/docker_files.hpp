// Helpers for the static checks of docker/: where the repository is, reading and parsing its
// files, running a command, a small Dockerfile reader and .dockerignore matcher. Test thread only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::docker_testing {

namespace fs = std::filesystem;

// The repository under test: $SLUICE_DOCKER_TEST_ROOT if set (to check a modified copy),
// else the source tree this test was built from.
fs::path repo_root();
fs::path docker_dir();  // repo_root() / "docker"

// The file's text; fails the current test (and returns "") when it cannot be read.
std::string read_text(const fs::path& path);
// Parses a YAML file; nullopt (and a test failure naming file:line:col) when it does not parse.
std::optional<YAML::Node> load_yaml(const fs::path& path);

// A command's exit status and its stdout+stderr together.
struct CommandResult {
  int exit_code = -1;  // -1: could not run or killed by a signal
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv,
                          const fs::path& cwd = fs::current_path());
// Whether `name` is an executable found on $PATH.
bool have_program(const std::string& name);

// One Dockerfile instruction with its line continuations joined.
struct Instruction {
  int line = 0;
  std::string keyword;  // upper case: FROM, RUN, COPY, ...
  std::string args;     // the rest, trimmed
};
struct Stage {
  std::string base;                       // image after FROM
  std::string name;                       // after AS, may be empty
  std::vector<Instruction> instructions;  // after the FROM
};
// The stages of a Dockerfile, in order. Fails the test on an instruction before the first FROM.
std::vector<Stage> parse_dockerfile(const std::string& text);

// COPY/ADD arguments: flags (--from=..., --chown=...), sources and the destination.
struct CopyArgs {
  std::vector<std::string> flags;
  std::vector<std::string> sources;
  std::string destination;
};
CopyArgs parse_copy(const std::string& args);
// A HEALTHCHECK instruction: `NONE`, or its --options and its command.
struct Healthcheck {
  bool none = false;
  std::map<std::string, std::string> options;  // "interval" -> "10s"
  std::vector<std::string> exec;               // CMD in exec (JSON array) form
  std::string shell;                           // CMD in shell form ("" when exec form)
};
// Parses the arguments of a HEALTHCHECK; adds a test failure when they do not parse.
Healthcheck parse_healthcheck(const std::string& args);

// The packages of every `apt-get install` in a RUN command (options dropped).
std::vector<std::string> apt_installed_packages(const std::string& run_args);

// Whether a path relative to the build context is excluded by .dockerignore patterns
// (last matching pattern wins, `!` re-includes, `**` matches any number of directories,
// and a pattern that matches a parent directory excludes what is inside it).
bool dockerignored(const std::vector<std::string>& patterns, const std::string& path);
std::vector<std::string> read_dockerignore(const fs::path& path);

// Splits on whitespace.
std::vector<std::string> split_words(const std::string& s);
// "a.b.c.d" -> 32-bit value; nullopt if not a dotted IPv4 address.
std::optional<uint32_t> parse_ipv4(const std::string& s);
// "host:port" -> host (IPv4 or name; bracketed IPv6 kept with brackets).
std::string host_of(const std::string& address);
std::string port_of(const std::string& address);

}  // namespace sluice::docker_testing
