// Entry points: read the file, parse YAML, run the section parsers and the cross-reference
// checks, and hand back every diagnostic in file order.
#include "config/parse.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include <openssl/evp.h>
#include <yaml-cpp/eventhandler.h>

#include "config/env_substitution.hpp"
#include "config/parse_state.hpp"

namespace sluice::config {
namespace {

// Config files are small; anything bigger is a mistake (a log, a binary) we should not parse.
constexpr off_t kMaxFileBytes = 16 << 20;

// Hex SHA-256 of `first` and then each of `rest`, or "" in the unlikely case OpenSSL cannot
// provide the digest.
std::string sha256_hex(const std::string& first, const std::vector<std::string>& rest) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  bool ok = context != nullptr && EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(context, first.data(), first.size()) == 1;
  for (const auto& part : rest) ok = ok && EVP_DigestUpdate(context, part.data(), part.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(context, digest, &length) == 1;
  EVP_MD_CTX_free(context);
  if (!ok) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

// File order: the main file first, then each included file in the order it was read.
void sort_in_file_order(std::vector<Diagnostic>& diagnostics,
                        const std::vector<std::string>& files) {
  std::map<std::string, size_t> order;
  for (size_t i = 0; i < files.size(); ++i) order.emplace(files[i], i);
  auto key = [&](const Diagnostic& d) {
    auto it = order.find(d.file);
    return std::tuple(it == order.end() ? 0 : it->second, d.line, d.column);
  };
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
}

// Sees a document's events without building it; only where each document starts matters.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

ParseResult parse(const std::string& text, const std::string& file, const ParseOptions& options,
                  SourceFile main) {
  ParseResult result;
  try {
    ParseState state(file, options);
    state.include_chain.push_back(std::move(main));
    parse_source(state, text, 0);
    validate_references(state);
    result.errors = std::move(state.reader.diagnostics());
    sort_in_file_order(result.errors, state.reader.files());
    result.config = std::move(state.config);
    result.config.source_path = file;
    // Hashed here rather than in parse_config_file so that every Config carries the hash of
    // exactly the text it came from, whichever entry point parsed it.
    result.config.source_hash = sha256_hex(text, state.included_texts);
  } catch (const std::exception& e) {
    // Nothing above is expected to throw but allocation; the caller must still get an answer.
    result.errors.push_back(Diagnostic{file, 0, 0, std::string("internal error: ") + e.what()});
  } catch (...) {
    result.errors.push_back(Diagnostic{file, 0, 0, "internal error"});
  }
  return result;
}

}  // namespace

void parse_source(ParseState& state, const std::string& text, int source) {
  const bool main = source == 0;
  YAML::Node root;
  size_t documents = 0;
  Pos second_document;
  try {
    // yaml-cpp 0.7's LoadAll() never returns on some inputs (a lone ","): its document loop
    // does not always consume input. So look at no more than two documents, then Load() one.
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    DocumentStarts events;
    while (documents < 2 && parser.HandleNextDocument(events)) ++documents;
    if (events.starts.size() > 1)
      second_document = {events.starts[1].line + 1, events.starts[1].column + 1, source};
    if (documents > 0) root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp stops at the first syntax error, so there is exactly one to report.
    Pos pos =
        e.mark.is_null() ? Pos{1, 1, source} : Pos{e.mark.line + 1, e.mark.column + 1, source};
    state.reader.error(pos, "invalid YAML: " + e.msg);
    return;
  }
  if (documents == 0) {
    // An empty included file adds nothing (a placeholder in conf.d/, say); an empty config is
    // a mistake.
    if (main)
      state.reader.error(Pos{1, 1, source},
                         "the config is empty: expected a map with at least 'listeners'");
    return;
  }
  if (documents > 1) {
    if (second_document.line == 0) second_document = {1, 1, source};
    state.reader.error(second_document, "expected one YAML document, found a second one");
  }
  const Field root_field{YAML::Node(), root, "", source};
  substitute_env(state.reader, root_field, state.options.env);
  parse_root(state, root_field);
}

std::string Diagnostic::to_string() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

ParseResult parse_config_text(const std::string& text, const std::string& file,
                              const ParseOptions& options) {
  SourceFile main;
  if (!options.include_dir.empty()) main.dir = options.include_dir;
  return parse(text, file, options, std::move(main));
}

ParseResult parse_config_file(const std::string& path, const ParseOptions& options) {
  std::string text;
  if (std::string why = read_config_file(path, text); !why.empty()) {
    ParseResult result;
    result.errors.push_back(Diagnostic{path, 0, 0, why});
    return result;
  }
  SourceFile main;
  main.dir = std::filesystem::path(path).parent_path().string();
  std::error_code ignored;  // without an identity, a cycle back to it is found one step later
  main.identity = std::filesystem::canonical(path, ignored).string();
  return parse(text, path, options, std::move(main));
}

std::string read_config_file(const std::string& path, std::string& text) {
  auto fail = [](const std::string& why) { return why; };
  text.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot read the file: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int error = errno;
    ::close(fd);
    return fail(S_ISDIR(st.st_mode)
                    ? "cannot read the file: it is a directory"
                    : std::string("cannot read the file: ") +
                          (S_ISREG(st.st_mode) ? std::strerror(error) : "not a regular file"));
  }
  if (st.st_size > kMaxFileBytes) {
    ::close(fd);
    return fail("the file is larger than 16 MiB; this is not a config file");
  }
  try {
    text.resize(static_cast<size_t>(st.st_size));
  } catch (...) {
    ::close(fd);
    return fail("out of memory reading the file");
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return fail(std::string("cannot read the file: ") + std::strerror(error));
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  ::close(fd);
  return {};
}

}  // namespace sluice::config
