#include "config/includes.hpp"

#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sluice::config {
namespace {

bool has_wildcard(std::string_view pattern) {
  return pattern.find_first_of("*?[") != std::string_view::npos;
}

// To glob(3) a directory named "a[1]" is a pattern too; the including file's directory is not.
std::string escape_for_glob(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Why glob(3) stopped: a directory it could not read. Control thread only, so one slot does.
std::string glob_problem;

int on_glob_error(const char* path, int error) {
  // A directory that is not there matches nothing, like an empty one.
  if (error == ENOENT || error == ENOTDIR) return 0;
  // Anything else stops: skipping an unreadable directory would drop its files silently.
  glob_problem = std::string(path) + ": " + std::strerror(error);
  return 1;
}

// The files `pattern` names, relative to `dir`, sorted; or, in `why`, why they cannot be listed.
std::vector<std::string> expand(const std::string& dir, const std::string& pattern,
                                std::string& why) {
  const bool relative = !pattern.starts_with('/') && !dir.empty();
  if (!has_wildcard(pattern)) return {relative ? dir + "/" + pattern : pattern};
  const std::string wild = relative ? escape_for_glob(dir) + "/" + pattern : pattern;
  glob_t matches{};
  glob_problem.clear();
  const int rc = ::glob(wild.c_str(), 0, on_glob_error, &matches);
  std::vector<std::string> files;
  if (rc == 0) {
    files.assign(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
  } else if (rc == GLOB_ABORTED) {
    why = "cannot list " + glob_problem;
  } else if (rc == GLOB_NOSPACE) {
    why = "out of memory listing " + wild;
  }  // GLOB_NOMATCH: nothing to include, which is fine for a pattern
  ::globfree(&matches);
  // glob(3) sorts by the locale's collation; byte order is the same everywhere.
  std::sort(files.begin(), files.end());
  return files;
}

std::string chain_to(const ParseState& state, const std::string& last) {
  std::string out;
  for (const auto& file : state.include_chain) out += state.reader.file(file.source) + " -> ";
  return out + last;
}

void include_file(ParseState& state, const Field& where, const std::string& path) {
  Reader& r = state.reader;
  std::string text;
  if (std::string why = read_config_file(path, text); !why.empty()) {
    r.error(where, path + ": " + why);
    return;
  }
  std::error_code ignored;
  std::string identity = std::filesystem::canonical(path, ignored).string();
  if (identity.empty()) identity = path;  // removed since it was read: still a name for it
  for (const auto& outer : state.include_chain) {
    if (outer.identity == identity) {
      r.error(where, "include cycle: " + chain_to(state, path));
      return;
    }
  }
  if (auto first = state.included.find(identity); first != state.included.end()) {
    r.error(where, path + " is already included (at " + r.place(first->second, where.pos()) +
                       "); a file can be included once");
    return;
  }
  state.included.emplace(identity, where.pos());
  const int source = r.add_file(path);
  state.include_chain.push_back(
      SourceFile{source, std::filesystem::path(path).parent_path().string(), identity});
  state.included_texts.push_back(text);
  parse_source(state, text, source);
  state.include_chain.pop_back();
}

}  // namespace

void parse_includes(ParseState& state, const Field& field) {
  Reader& r = state.reader;
  const SourceFile including = state.include_chain.back();  // a copy: the chain grows below
  if (!including.dir) {
    r.error(field.key_pos(), field.path +
                                 ": only a config read from a file can include others (this "
                                 "text has no directory to look in)");
    return;
  }
  if (state.include_chain.size() > kMaxIncludeDepth) {
    r.error(field.key_pos(), field.path + ": includes nest more than " +
                                 std::to_string(kMaxIncludeDepth) +
                                 " levels deep: " + chain_to(state, "..."));
    return;
  }
  const std::vector<Field> patterns =
      field.value.IsSequence() ? r.list(field) : std::vector<Field>{field};
  for (const Field& item : patterns) {
    auto pattern = r.string(item);
    if (!pattern) continue;
    if (pattern->empty()) {
      r.error(item, "expected a file name or a pattern like conf.d/*.yaml, got ''");
      continue;
    }
    std::string why;
    for (const auto& path : expand(*including.dir, *pattern, why)) include_file(state, item, path);
    if (!why.empty()) r.error(item, why);
  }
}

}  // namespace sluice::config
