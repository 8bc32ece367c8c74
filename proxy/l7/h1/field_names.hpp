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

inline bool is_framing_name_or_lookalike(std::string_view name) {
  FramingNameMatcher m;
  for (unsigned char c : name) m.feed(c);
  return m.matches();
}

}  // namespace sluice::proxy::http
