#include "config/yaml_reader.hpp"

#include <algorithm>

#include "config/scalars.hpp"
#include "config/support.hpp"

namespace sluice::config {
namespace {

// yaml-cpp marks plain scalars with the non-specific tag "?" and quoted ones with "!". Numbers
// and booleans must be plain: `port: "80"` is a string, as in every other YAML consumer.
bool is_plain(const YAML::Node& node) {
  return node.Tag() == "?";
}

std::string join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace

Pos pos_of(const YAML::Node& node, int source) {
  YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {0, 0, source};
  return {mark.line + 1, mark.column + 1, source};
}

std::string line_col(Pos pos) {
  return "line " + std::to_string(pos.line) + ":" + std::to_string(pos.column);
}

Pos Field::pos() const {
  if (value.IsNull()) {
    Pos at_key = at(key);
    if (at_key.line != 0) return at_key;
  }
  return at(value);
}

Pos Field::key_pos() const {
  Pos pos = at(key);
  return pos.line != 0 ? pos : at(value);
}

std::string unquote_hint(std::string_view text) {
  return " (quotes make a string: write " + std::string(text) + " without them)";
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      return "'" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "'";
    }
    default:
      return "nothing";
  }
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;  // more than two edits away is not a typo
  for (const auto& candidate : candidates) {
    // Levenshtein distance, one row at a time.
    std::vector<size_t> row(candidate.size() + 1);
    for (size_t j = 0; j < row.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= candidate.size(); ++j) {
        size_t above = row[j];
        size_t cost = word[i - 1] == candidate[j - 1] ? 0 : 1;
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
        diagonal = above;
      }
    }
    size_t distance = row.back();
    if (distance < best_distance && distance < std::max<size_t>(word.size(), 2)) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

int Reader::add_file(std::string name) {
  files_.push_back(std::move(name));
  return static_cast<int>(files_.size() - 1);
}

void Reader::final_error(Pos pos, std::string message) {
  error(pos, std::move(message));
  if (pos.line != 0) final_.insert({pos.source, pos.line, pos.column});
}

std::string Reader::place(Pos at, Pos from) const {
  if (at.source == from.source) return line_col(at);
  return file(at.source) + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
}

void Reader::error(Pos pos, std::string message) {
  if (final_.count({pos.source, pos.line, pos.column}) != 0) return;
  diagnostics_.push_back(Diagnostic{file(pos.source), pos.line, pos.column, std::move(message)});
}

void Reader::error(const Field& field, const std::string& message) {
  error(field.pos(), field.path.empty() ? message : field.path + ": " + message);
}

std::optional<std::string> Reader::scalar(const Field& field, const std::string& expected) {
  if (!field.value.IsScalar()) {
    error(field, "expected " + expected + ", got " + describe(field.value));
    return std::nullopt;
  }
  return field.value.Scalar();
}

std::optional<std::string> Reader::string(const Field& field) {
  return scalar(field, "a string");
}

std::optional<std::string> Reader::name(const Field& field) {
  auto text = scalar(field, "a name");
  if (!text) return std::nullopt;
  if (std::string problem = check_name(*text); !problem.empty()) {
    error(field, problem);
    return std::nullopt;
  }
  return text;
}

std::optional<bool> Reader::boolean(const Field& field) {
  const std::string expected = "true or false";
  auto text = scalar(field, expected);
  if (!text) return std::nullopt;
  // Only the YAML 1.2 spellings: "yes", "on", "n" ... mean different things to different tools.
  if (is_plain(field.value) && *text == "true") return true;
  if (is_plain(field.value) && *text == "false") return false;
  const bool quoted_bool = !is_plain(field.value) && (*text == "true" || *text == "false");
  error(field, "expected " + expected + ", got " +
                   (quoted_bool ? "the string " + describe(field.value) + unquote_hint(*text)
                                : describe(field.value)));
  return std::nullopt;
}

std::optional<int64_t> Reader::integer(const Field& field, int64_t min, int64_t max) {
  auto text = scalar(field, "an integer");
  if (!text) return std::nullopt;
  auto parsed = parse_integer(*text);
  if (!parsed || !is_plain(field.value)) {
    error(field, parsed ? "expected an integer, got the string " + describe(field.value) +
                              unquote_hint(*text)
                        : parsed.error);
    return std::nullopt;
  }
  if (*parsed.value < min || *parsed.value > max) {
    error(field, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                     ", got " + *text);
    return std::nullopt;
  }
  return parsed.value;
}

std::optional<double> Reader::number(const Field& field) {
  auto text = scalar(field, "a number");
  if (!text) return std::nullopt;
  auto parsed = parse_number(*text);
  if (!parsed || !is_plain(field.value)) {
    error(field, parsed ? "expected a number, got the string " + describe(field.value) +
                              unquote_hint(*text)
                        : parsed.error);
    return std::nullopt;
  }
  return parsed.value;
}

std::optional<uint64_t> Reader::size(const Field& field) {
  auto text = scalar(field, "a size like 65536, 512KiB, 10MiB or 1GiB");
  if (!text) return std::nullopt;
  auto parsed = parse_size(*text);
  if (!parsed) {
    error(field, parsed.error);
    return std::nullopt;
  }
  if (*parsed.value == 0) {
    error(field, "must be larger than 0");
    return std::nullopt;
  }
  return parsed.value;
}

std::optional<Duration> Reader::duration(const Field& field) {
  auto text = scalar(field, "a duration like 250ms, 2s, 1m or 1h");
  if (!text) return std::nullopt;
  auto parsed = parse_duration(*text);
  if (!parsed) {
    error(field, parsed.error);
    return std::nullopt;
  }
  if (parsed.value->count() == 0) {
    error(field, "must be longer than 0");
    return std::nullopt;
  }
  return parsed.value;
}

std::optional<Rate> Reader::rate(const Field& field) {
  auto text = scalar(field, "a rate like 100/s, 600/min or 10/h");
  if (!text) return std::nullopt;
  auto parsed = parse_rate(*text);
  if (!parsed) error(field, parsed.error);
  return parsed.value;
}

std::optional<Address> Reader::address(const Field& field) {
  auto text = scalar(field, "an address like 127.0.0.1:8080");
  if (!text) return std::nullopt;
  auto parsed = parse_address(*text);
  if (!parsed) error(field, parsed.error);
  return parsed.value;
}

std::optional<size_t> Reader::choice(const Field& field,
                                     std::initializer_list<std::string_view> options) {
  auto text = scalar(field, "one of " + join(options));
  if (!text) return std::nullopt;
  size_t index = 0;
  for (auto option : options) {
    if (*text == option) {
      if (!is_supported(schema_path_of(field.path), option)) {
        error(field, *text + " is not supported yet");
        // Still return it, so the rest of the section is validated as if it were.
      }
      return index;
    }
    ++index;
  }
  std::string message = "expected one of " + join(options) + ", got " + describe(field.value);
  std::vector<std::string> names(options.begin(), options.end());
  if (std::string guess = closest(*text, names); !guess.empty())
    message += " (did you mean '" + guess + "'?)";
  error(field, message);
  return std::nullopt;
}

std::vector<Field> Reader::list(const Field& field) {
  std::vector<Field> items;
  if (!field.value.IsSequence()) {
    error(field, "expected a list, got " + describe(field.value));
    return items;
  }
  size_t i = 0;
  for (const auto& item : field.value)
    items.push_back(
        Field{YAML::Node(), item, field.path + "[" + std::to_string(i++) + "]", field.source});
  return items;
}

std::vector<std::string> Reader::string_list(const Field& field) {
  std::vector<std::string> out;
  for (const auto& item : list(field))
    if (auto text = string(item)) out.push_back(*text);
  return out;
}

MapReader::MapReader(Reader& reader, const Field& field) : reader_(reader), self_(field) {
  if (!field.value.IsMap()) {
    reader_.error(field, "expected a map, got " + describe(field.value));
    return;
  }
  valid_ = true;
  for (auto it = field.value.begin(); it != field.value.end(); ++it) {
    // Copies, not references: the iterator's operator-> hands out a temporary.
    const YAML::detail::iterator_value pair = *it;
    const YAML::Node key = pair.first;
    if (!key.IsScalar()) {
      reader_.error(self_.at(key), (self_.path.empty() ? "" : self_.path + ": ") +
                                       "expected a key name, got " + describe(key));
      continue;
    }
    Entry entry{key, pair.second, key.Scalar()};
    for (const auto& earlier : entries_) {
      if (earlier.name == entry.name) {
        Pos first = self_.at(earlier.key);
        reader_.error(self_.at(key), child_path(entry.name) + ": duplicate key (first at " +
                                         line_col(first) + ")");
        entry.used = true;  // reported once, not again as unknown
        break;
      }
    }
    entries_.push_back(std::move(entry));
  }
}

MapReader::~MapReader() {
  if (!valid_) return;
  for (const auto& entry : entries_) {
    if (entry.used) continue;
    std::string message = child_path(entry.name) + ": unknown key";
    if (std::string guess = closest(entry.name, known_); !guess.empty()) {
      message += " (did you mean '" + guess + "'?)";
    } else if (!known_.empty()) {
      message += " (expected one of ";
      for (size_t i = 0; i < known_.size(); ++i) message += (i ? ", " : "") + known_[i];
      message += ")";
    }
    reader_.error(self_.at(entry.key), message);
  }
}

std::string MapReader::child_path(std::string_view key) const {
  return self_.path.empty() ? std::string(key) : self_.path + "." + std::string(key);
}

bool MapReader::has(std::string_view key) const {
  for (const auto& entry : entries_)
    if (entry.name == key) return true;
  return false;
}

std::optional<Field> MapReader::get(std::string_view key) {
  known_.emplace_back(key);
  for (auto& entry : entries_) {
    if (entry.name != key || entry.used) continue;
    entry.used = true;
    Field field{entry.key, entry.value, child_path(key), self_.source};
    if (!is_supported(schema_path_of(field.path)))
      reader_.error(field.key_pos(), field.path + " is not supported yet");
    return field;
  }
  return std::nullopt;
}

std::optional<Field> MapReader::require(std::string_view key, std::string_view hint) {
  auto field = get(key);
  if (!field && valid_) {
    std::string message = (self_.path.empty() ? "" : self_.path + ": ") + "missing required key '" +
                          std::string(key) + "'";
    if (!hint.empty()) message += " (" + std::string(hint) + ")";
    reader_.error(self_.pos(), message);
  }
  return field;
}

}  // namespace sluice::config
