#include "config/support.hpp"

#include <array>

namespace sluice::config {
namespace {

struct NotYet {
  std::string_view path;
  std::string_view value;  // empty: the key itself, whatever its value
};

// THE table of keys and values the proxy does not implement yet. Delete a line when the
// feature lands; the parser already validates every one of them.
// Empty today: every key the parser knows is implemented.
constexpr std::array<NotYet, 0> kNotSupportedYet{};

}  // namespace

bool is_supported(std::string_view schema_path, std::string_view value) {
  for (const auto& entry : kNotSupportedYet)
    if (entry.path == schema_path && entry.value == value) return false;
  return true;
}

std::string schema_path_of(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  bool in_index = false;
  for (char c : path) {
    if (c == '[')
      in_index = true;
    else if (c == ']')
      in_index = false;
    else if (!in_index)
      out.push_back(c);
  }
  return out;
}

}  // namespace sluice::config
