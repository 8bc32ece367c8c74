#include "docker_files.hpp"

#include <fnmatch.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sluice::docker_testing {

fs::path repo_root() {
  if (const char* root = std::getenv("SLUICE_DOCKER_TEST_ROOT"); root && *root) return root;
  return SLUICE_SOURCE_DIR;
}

fs::path docker_dir() {
  return repo_root() / "docker";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::optional<YAML::Node> load_yaml(const fs::path& path) {
  if (!fs::exists(path)) {
    ADD_FAILURE() << path << " does not exist";
    return std::nullopt;
  }
  try {
    return YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    ADD_FAILURE() << path.string() << ":" << e.mark.line + 1 << ":" << e.mark.column + 1 << ": "
                  << e.msg;
    return std::nullopt;
  }
}

CommandResult run_command(const std::vector<std::string>& argv, const fs::path& cwd) {
  CommandResult result;
  int fds[2];
  if (argv.empty() || pipe(fds) != 0) return result;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return result;
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) result.output.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

bool have_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && access((fs::path(dir) / name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  std::string part;
  while (std::getline(in, part, '/')) {
    if (!part.empty() && part != ".") parts.push_back(part);
  }
  return parts;
}

// Whether `pattern` (split into components) matches `path` (components) exactly.
bool match_parts(const std::vector<std::string>& pat, size_t pi,
                 const std::vector<std::string>& path, size_t si) {
  if (pi == pat.size()) return si == path.size();
  if (pat[pi] == "**") {
    for (size_t k = si; k <= path.size(); ++k) {
      if (match_parts(pat, pi + 1, path, k)) return true;
    }
    return false;
  }
  if (si == path.size()) return false;
  if (fnmatch(pat[pi].c_str(), path[si].c_str(), 0) != 0) return false;
  return match_parts(pat, pi + 1, path, si + 1);
}

}  // namespace

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::vector<Stage> parse_dockerfile(const std::string& text) {
  std::vector<Stage> stages;
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  std::string pending;
  int pending_line = 0;
  auto flush = [&] {
    std::string s = trim(pending);
    pending.clear();
    if (s.empty()) return;
    Instruction ins;
    ins.line = pending_line;
    size_t sp = s.find_first_of(" \t");
    ins.keyword = upper(s.substr(0, sp));
    ins.args = sp == std::string::npos ? "" : trim(s.substr(sp));
    if (ins.keyword == "FROM") {
      Stage st;
      auto words = split_words(ins.args);
      for (size_t i = 0; i < words.size(); ++i) {
        if (words[i].rfind("--", 0) == 0) continue;  // --platform=...
        if (st.base.empty()) {
          st.base = words[i];
        } else if (upper(words[i]) == "AS" && i + 1 < words.size()) {
          st.name = words[i + 1];
          break;
        }
      }
      stages.push_back(st);
      return;
    }
    if (ins.keyword == "ARG" && stages.empty()) return;  // global build arguments
    if (stages.empty()) {
      ADD_FAILURE() << "Dockerfile:" << ins.line << ": " << ins.keyword << " before the first FROM";
      return;
    }
    stages.back().instructions.push_back(ins);
  };
  while (std::getline(in, raw)) {
    ++line_no;
    std::string t = trim(raw);
    if (t.empty() || t[0] == '#') continue;  // comments, parser directives, blank lines
    if (pending.empty()) pending_line = line_no;
    if (t.back() == '\\') {
      pending += t.substr(0, t.size() - 1) + " ";
      continue;
    }
    pending += t;
    flush();
  }
  flush();
  return stages;
}

CopyArgs parse_copy(const std::string& args) {
  CopyArgs out;
  std::vector<std::string> words;
  std::string a = trim(args);
  if (!a.empty() && a[0] == '[') {  // JSON form: ["src", "dest"]
    std::string cur;
    bool in_str = false;
    for (char c : a) {
      if (c == '"') {
        if (in_str) words.push_back(cur);
        cur.clear();
        in_str = !in_str;
      } else if (in_str) {
        cur += c;
      }
    }
  } else {
    words = split_words(a);
  }
  size_t i = 0;
  for (; i < words.size() && words[i].rfind("--", 0) == 0; ++i) out.flags.push_back(words[i]);
  for (; i < words.size(); ++i) out.sources.push_back(words[i]);
  if (!out.sources.empty()) {
    out.destination = out.sources.back();
    out.sources.pop_back();
  }
  return out;
}

Healthcheck parse_healthcheck(const std::string& args) {
  Healthcheck out;
  std::string rest = trim(args);
  while (rest.rfind("--", 0) == 0) {
    size_t end = rest.find_first_of(" \t");
    std::string option = rest.substr(2, end == std::string::npos ? end : end - 2);
    size_t eq = option.find('=');
    out.options[option.substr(0, eq)] = eq == std::string::npos ? "" : option.substr(eq + 1);
    rest = end == std::string::npos ? "" : trim(rest.substr(end));
  }
  if (upper(rest) == "NONE") {
    out.none = true;
    return out;
  }
  if (upper(rest.substr(0, 4)) != "CMD " && upper(rest.substr(0, 4)) != "CMD\t") {
    ADD_FAILURE() << "HEALTHCHECK without CMD: " << args;
    return out;
  }
  rest = trim(rest.substr(4));
  if (rest.empty() || rest[0] != '[') {
    out.shell = rest;
    return out;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(rest, ec);
  if (ec || !v.is_array()) {
    ADD_FAILURE() << "HEALTHCHECK CMD is neither a JSON array nor shell form: " << rest;
    return out;
  }
  for (const auto& e : v.as_array()) {
    if (!e.is_string()) {
      ADD_FAILURE() << "HEALTHCHECK CMD has a non-string element: " << rest;
      return {};
    }
    out.exec.emplace_back(e.as_string().c_str());
  }
  return out;
}

std::vector<std::string> apt_installed_packages(const std::string& run_args) {
  std::vector<std::string> packages;
  auto words = split_words(run_args);
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] != "apt-get" && words[i] != "apt") continue;
    size_t j = i + 1;
    while (j < words.size() && words[j].rfind("-", 0) == 0) ++j;
    if (j >= words.size() || words[j] != "install") continue;
    for (++j; j < words.size(); ++j) {
      const std::string& w = words[j];
      if (w == "&&" || w == ";" || w == "||" || w == "|") break;
      if (w.rfind("-", 0) == 0) continue;
      packages.push_back(w);
    }
  }
  return packages;
}

bool dockerignored(const std::vector<std::string>& patterns, const std::string& path) {
  auto parts = split_path(path);
  bool ignored = false;
  for (const auto& raw : patterns) {
    bool negate = !raw.empty() && raw[0] == '!';
    auto pat = split_path(negate ? raw.substr(1) : raw);
    if (pat.empty()) continue;
    // A pattern that matches the path or one of its parent directories.
    for (size_t n = 1; n <= parts.size(); ++n) {
      std::vector<std::string> prefix(parts.begin(), parts.begin() + static_cast<long>(n));
      if (match_parts(pat, 0, prefix, 0)) {
        ignored = !negate;
        break;
      }
    }
  }
  return ignored;
}

std::vector<std::string> read_dockerignore(const fs::path& path) {
  std::vector<std::string> patterns;
  if (!fs::exists(path)) return patterns;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    patterns.push_back(line);
  }
  return patterns;
}

std::optional<uint32_t> parse_ipv4(const std::string& s) {
  uint32_t value = 0;
  int parts = 0;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, '.')) {
    if (part.empty() || part.size() > 3 || ++parts > 4) return std::nullopt;
    for (char c : part) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    }
    int v = std::stoi(part);
    if (v > 255) return std::nullopt;
    value = (value << 8) | static_cast<uint32_t>(v);
  }
  if (parts != 4 || s.back() == '.') return std::nullopt;
  return value;
}

std::string host_of(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

std::string port_of(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? "" : address.substr(colon + 1);
}

}  // namespace sluice::docker_testing
