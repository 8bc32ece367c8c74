// Character classes of RFC 9110/9112 and RFC 3986, as branch-light predicates.
// Internal to the codec.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sluice::proxy::http::chars {

namespace detail {
constexpr std::array<bool, 256> make_tchar() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
// RFC 3986 unreserved / sub-delims / ":" / "@": what a path segment or query may hold
// besides "%XX" ("/" and "?" are added by the caller where they are allowed).
constexpr std::array<bool, 256> make_pchar() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("-._~!$&'()*+,;=:@")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
inline constexpr auto kTchar = make_tchar();
inline constexpr auto kPchar = make_pchar();
}  // namespace detail

inline bool is_tchar(unsigned char c) {
  return detail::kTchar[c];
}
inline bool is_pchar(unsigned char c) {
  return detail::kPchar[c];
}
inline bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
inline bool is_alpha(unsigned char c) {
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
inline int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  unsigned char l = c | 0x20;
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}
// field-vchar / SP / HTAB / obs-text: every octet except CTLs (HTAB allowed) and DEL.
inline bool is_field_value_char(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}
// VCHAR / SP / obs-text, as on a start line (no HTAB there).
inline bool is_line_char(unsigned char c) {
  return c >= 0x20 && c != 0x7f;
}
inline bool is_ows(unsigned char c) {
  return c == ' ' || c == '\t';
}
inline char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
}

}  // namespace sluice::proxy::http::chars
