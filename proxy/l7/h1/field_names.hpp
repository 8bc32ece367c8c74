// Field names that decide framing and routing, and names a next hop could mistake
// for them. Backends normalise names loosely: CGI-style servers treat '_' like '-',
// some drop separators altogether, so `Content_Length`, `Transfer--Encoding` or
// `Transfer-Encoding_` can frame a body there while sluice saw an unknown field.
// Matching ignores ASCII case, '-' and '_'. Incremental, so that the body scanner
// can check a trailer name byte by byte across any split without copying it.
// Internal to the codec; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "proxy/l7/h1/chars.hpp"

namespace sluice::proxy::http {

class FramingNameMatcher {
 public:
  void reset() {
    candidates_ = kAll;
    length_ = 0;
  }
  // One more byte of the name.
  void feed(unsigned char c) {
    if (c == '-' || c == '_' || candidates_ == 0) return;
    const char lower = chars::to_lower(static_cast<char>(c));
    for (size_t k = 0; k < kNames.size(); ++k) {
      const std::string_view name = kNames[k];
      if (length_ >= name.size() || name[length_] != lower) candidates_ &= ~(1u << k);
    }
    ++length_;
  }
  // Whether the name fed so far is Content-Length, Transfer-Encoding or Host once case,
  // '-' and '_' are ignored.
  bool matches() const {
    for (size_t k = 0; k < kNames.size(); ++k)
      if ((candidates_ & (1u << k)) && kNames[k].size() == length_) return true;
    return false;
  }

 private:
  static constexpr std::array<std::string_view, 3> kNames = {"contentlength", "transferencoding",
                                                             "host"};
  static constexpr uint8_t kAll = (1u << kNames.size()) - 1;
  uint8_t candidates_ = kAll;
  uint8_t length_ = 0;  // name bytes fed, separators excluded (stops growing once nothing fits)
};

// The same for a whole name, checked on every header of every message, so it is one pass
// that stops at the first letter that cannot fit: the first letter picks the only candidate
// (c, t or h), and most names part from it within a few letters.
// Which framing name `name` is, exactly (any case), or a look-alike of one.
enum class FramingName { none, host, content_length, transfer_encoding, lookalike };
inline FramingName classify_framing_name(std::string_view name) {
  size_t i = 0;
  while (i < name.size() && (name[i] == '-' || name[i] == '_')) ++i;
  if (i == name.size()) return FramingName::none;
  std::string_view target;  // letters only
  std::string_view exact;
  FramingName which = FramingName::none;
  switch (chars::to_lower(name[i])) {
    case 'c':
      target = "contentlength", exact = "content-length", which = FramingName::content_length;
      break;
    case 't':
      target = "transferencoding", exact = "transfer-encoding";
      which = FramingName::transfer_encoding;
      break;
    case 'h':
      target = exact = "host", which = FramingName::host;
      break;
    default:
      return FramingName::none;
  }
  size_t k = 0;
  for (; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '-' || c == '_') continue;
    if (k == target.size() || chars::to_lower(c) != target[k]) return FramingName::none;
    ++k;
  }
  if (k != target.size()) return FramingName::none;
  // The same letters: exact only when the separators are the real name's too.
  if (name.size() != exact.size()) return FramingName::lookalike;
  for (size_t j = 0; j < exact.size(); ++j)
    if ((exact[j] == '-') != (name[j] == '-')) return FramingName::lookalike;
  return which;
}

inline bool is_framing_name_or_lookalike(std::string_view name) {
  return classify_framing_name(name) != FramingName::none;
}

}  // namespace sluice::proxy::http
