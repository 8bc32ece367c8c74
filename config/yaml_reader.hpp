// Typed access to a yaml-cpp tree that records a diagnostic, with the node's line and column,
// for every problem instead of throwing. Section parsers are written against this, so each
// one reads as a list of keys and never forgets a position. Control thread only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/config.hpp"
#include "config/parse.hpp"

namespace sluice::config {

// 1-based line and column; {0, 0} means "not tied to a place". `source` says which file: an
// index into Reader::files(), 0 being the main one (the others come from `include:`).
struct Pos {
  int line = 0;
  int column = 0;
  int source = 0;
};

// Where `node` starts in file `source`. (yaml-cpp's marks do not know their file.)
Pos pos_of(const YAML::Node& node, int source);

// "line 12:5", for messages that point back at an earlier place in the same file
// ("first at line 12:5"); Reader::place() for places that may be in another file.
std::string line_col(Pos pos);

// A node of the tree plus the key it hangs from, its path ("listeners[0].listen") and the file
// it was read from (see Pos::source).
// Not assignable, on purpose: assigning a YAML::Node does not rebind it, it overwrites the node
// it refers to inside the tree (yaml-cpp's reference semantics). Copy-construct, or emplace.
struct Field {
  YAML::Node key;  // undefined for the root and for list items
  YAML::Node value;
  std::string path;
  int source;

  Field(YAML::Node key_node, YAML::Node value_node, std::string key_path, int source_index)
      : key(std::move(key_node)),
        value(std::move(value_node)),
        path(std::move(key_path)),
        source(source_index) {}
  Field(const Field&) = default;
  Field& operator=(const Field&) = delete;

  // Where to point at: the value, or the key when the value is empty (yaml-cpp places an
  // empty value on the next line, which would confuse the reader of the message).
  Pos pos() const;
  Pos key_pos() const;
  // Where a node below this field starts (it comes from the same file).
  Pos at(const YAML::Node& node) const { return pos_of(node, source); }
};

class Reader {
 public:
  // `file` names the main file (source 0) in diagnostics.
  explicit Reader(std::string file) { files_.push_back(std::move(file)); }

  // Registers a file read through `include:`; returns its source index.
  int add_file(std::string name);
  const std::string& file(int source) const { return files_.at(static_cast<size_t>(source)); }
  // In the order they were read: diagnostics are sorted by it.
  const std::vector<std::string>& files() const { return files_; }
  // How a message about `from` points at `at`: "line 3:5" in the same file,
  // "conf.d/a.yaml:3:5" in another.
  std::string place(Pos at, Pos from) const;

  void error(Pos pos, std::string message);
  // An error that makes the value at `pos` unusable (a ${NAME} that cannot be expanded): any
  // later error at that same place would only be about the unexpanded text, so is left out.
  void final_error(Pos pos, std::string message);
  // "<path>: <message>" at the field.
  void error(const Field& field, const std::string& message);
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

  // Typed getters: on failure they record why and return nullopt.
  std::optional<std::string> string(const Field& field);
  std::optional<std::string> name(const Field& field);  // string + check_name()
  std::optional<bool> boolean(const Field& field);
  std::optional<int64_t> integer(const Field& field, int64_t min, int64_t max);
  std::optional<double> number(const Field& field);
  std::optional<Duration> duration(const Field& field);  // always > 0
  std::optional<Rate> rate(const Field& field);
  std::optional<uint64_t> size(const Field& field);  // always > 0
  std::optional<Address> address(const Field& field);
  // Index of the scalar among `options`; a value off the support table is reported too.
  std::optional<size_t> choice(const Field& field, std::initializer_list<std::string_view> options);
  // The items of a list (empty, with a diagnostic, when the field is not a list).
  std::vector<Field> list(const Field& field);
  std::vector<std::string> string_list(const Field& field);

 private:
  // The scalar text of a plain or quoted scalar, or nullopt after reporting `expected`.
  std::optional<std::string> scalar(const Field& field, const std::string& expected);

  std::vector<std::string> files_;
  std::vector<Diagnostic> diagnostics_;
  std::set<std::tuple<int, int, int>> final_;  // source, line, column
};

// Reads one YAML map. Every key a parser asks for is "known"; when the MapReader goes out of
// scope, keys nobody asked for are reported as unknown (with a spelling suggestion), so adding
// a key to the schema is one get() call and silent ignoring is impossible.
class MapReader {
 public:
  MapReader(Reader& reader, const Field& field);
  ~MapReader();
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  bool valid() const { return valid_; }
  const Field& field() const { return self_; }
  const std::string& path() const { return self_.path; }

  // The entry for `key`, if present. Keys on the not-supported-yet table are reported here.
  std::optional<Field> get(std::string_view key);
  // Like get(), but a missing key is reported (once, at the map) as an error.
  std::optional<Field> require(std::string_view key, std::string_view hint = {});
  bool has(std::string_view key) const;

 private:
  std::string child_path(std::string_view key) const;

  Reader& reader_;
  Field self_;
  bool valid_ = false;
  struct Entry {
    YAML::Node key;
    YAML::Node value;
    std::string name;
    bool used = false;
    Entry(YAML::Node k, YAML::Node v, std::string n)
        : key(std::move(k)), value(std::move(v)), name(std::move(n)) {}
    Entry(const Entry&) = default;
    Entry& operator=(const Entry&) = delete;  // see Field
  };
  std::vector<Entry> entries_;
  std::vector<std::string> known_;
};

// Human description of what a node is, for "expected X, got Y" messages.
std::string describe(const YAML::Node& node);
// For a quoted scalar that would have been the number or boolean expected:
// " (quotes make a string: write 4 without them)".
std::string unquote_hint(std::string_view text);

// The closest of `candidates` to `word` by edit distance, or empty when none is close.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace sluice::config
