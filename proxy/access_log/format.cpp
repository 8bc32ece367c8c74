#include "proxy/access_log/format.hpp"

#include <time.h>

#include <charconv>
#include <cstdio>
#include <iterator>

namespace sluice::access_log {

std::string_view to_string(Kind kind) noexcept {
  return kind == Kind::tcp ? "tcp" : "http";
}

std::string_view to_string(LimitOutcome outcome) noexcept {
  constexpr std::string_view kNames[] = {"none", "admitted", "limited", "queued"};
  const auto i = static_cast<size_t>(outcome);
  return i < std::size(kNames) ? kNames[i] : "none";
}

std::string_view to_string(BreakerOutcome outcome) noexcept {
  switch (outcome) {
    case BreakerOutcome::none:
      return "none";
    case BreakerOutcome::allowed:
      return "allowed";
    case BreakerOutcome::probe:
      return "probe";
    case BreakerOutcome::rejected:
      return "rejected";
  }
  return "none";
}

namespace {

// Length of the well-formed UTF-8 sequence at p (n bytes available), 0 when
// ill-formed. Bounds of the second byte per RFC 3629's table exclude overlongs,
// surrogates and code points above U+10FFFF.
size_t sequence_length(const unsigned char* p, size_t n) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  size_t len;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (n < len || p[1] < lo || p[1] > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
  }
  return len;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

template <typename Int>
void append_int(std::string& out, Int value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

// Milliseconds with microsecond digits, from integers: no rounding surprises.
void append_ms(std::string& out, int64_t ns) {
  const int64_t us = ns > 0 ? ns / 1000 : 0;
  append_int(out, us / 1000);
  const int frac = static_cast<int>(us % 1000);
  const char digits[3] = {static_cast<char>('0' + frac / 100),
                          static_cast<char>('0' + frac / 10 % 10),
                          static_cast<char>('0' + frac % 10)};
  out += '.';
  out.append(digits, 3);
}

// "HTTP/1.1" (quoted in JSON when `none` is "null"), or `none` when no request line was read.
void append_protocol(std::string& out, uint8_t version, std::string_view none) {
  if (version != 10 && version != 11) {
    out += none;
    return;
  }
  const bool json = none == "null";
  if (json) out += '"';
  out += version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  if (json) out += '"';
}

void append_hex_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xF]};
  out.append(esc, 4);
}

// Text form: a field is one space-free token; "-" stands for empty.
void append_text_field(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += '-';
    return;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = p[i];
    if (c >= 0x80) {
      const size_t len = sequence_length(p + i, s.size() - i);
      if (len == 0) {
        append_hex_escape(out, c);
        ++i;
      } else {
        out.append(s.data() + i, len);
        i += len;
      }
      continue;
    }
    if (c <= 0x20 || c == 0x7F) {
      append_hex_escape(out, c);
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
}

// Splits unix_ns into whole seconds (floored, so instants before 1970 still
// print a valid time) and the millisecond within that second.
void split_time(int64_t unix_ns, int64_t& second, int& millis) {
  second = unix_ns / 1'000'000'000;
  int64_t rest = unix_ns % 1'000'000'000;
  if (rest < 0) {
    rest += 1'000'000'000;
    --second;
  }
  millis = static_cast<int>(rest / 1'000'000);
}

void append_second_prefix(std::string& out, int64_t second) {
  const time_t t = static_cast<time_t>(second);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                              tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (n > 0) out.append(buf, static_cast<size_t>(n) < sizeof buf ? n : sizeof buf - 1);
}

void append_millis_suffix(std::string& out, int millis) {
  const char buf[5] = {'.', static_cast<char>('0' + millis / 100),
                       static_cast<char>('0' + millis / 10 % 10),
                       static_cast<char>('0' + millis % 10), 'Z'};
  out.append(buf, 5);
}

}  // namespace

bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const size_t len = sequence_length(p + i, s.size() - i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void append_repaired_utf8(std::string& out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const size_t len = sequence_length(p + i, s.size() - i);
    if (len == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
}

void append_rfc3339_ms(std::string& out, int64_t unix_ns) {
  int64_t second;
  int millis;
  split_time(unix_ns, second, millis);
  append_second_prefix(out, second);
  append_millis_suffix(out, millis);
}

void LineFormatter::append_time(std::string& out, int64_t unix_ns) {
  int64_t second;
  int millis;
  split_time(unix_ns, second, millis);
  // Records arrive roughly in time order, so one gmtime per second suffices.
  if (second != cached_second_) {
    cached_prefix_.clear();
    append_second_prefix(cached_prefix_, second);
    cached_second_ = second;
  }
  out += cached_prefix_;
  append_millis_suffix(out, millis);
}

void LineFormatter::append_json_string(std::string& out, std::string_view s) {
  // Nearly every field is plain printable ASCII: copy it as it is.
  bool plain = true;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out += '"';
    out += s;
    out += '"';
    return;
  }
  // Boost's serializer escapes quotes, backslashes and control characters but
  // copies bytes >= 0x80 as they are, so ill-formed UTF-8 is repaired first.
  std::string_view text = s;
  if (!valid_utf8(s)) {
    repaired_.clear();
    append_repaired_utf8(repaired_, s);
    text = repaired_;
  }
  serializer_.reset(boost::json::string_view(text.data(), text.size()));
  char buf[2048];
  while (!serializer_.done()) {
    const auto chunk = serializer_.read(buf, sizeof buf);
    out.append(chunk.data(), chunk.size());
  }
}

void LineFormatter::append_json(std::string& out, const AccessRecord& r) {
  const bool http = r.kind == Kind::http;
  out += "{\"time\":\"";
  append_time(out, r.start_unix_ns);
  out += "\",\"kind\":\"";
  out += to_string(r.kind);
  out += "\",\"client\":";
  append_json_string(out, r.client.view());
  out += ",\"listener\":";
  append_json_string(out, r.listener.view());
  if (http) {
    out += ",\"route\":";
    append_json_string(out, r.route.view());
  }
  out += ",\"cluster\":";
  append_json_string(out, r.cluster.view());
  out += ",\"endpoint\":";
  append_json_string(out, r.endpoint.view());
  if (http) {
    out += ",\"method\":";
    append_json_string(out, r.method.view());
    out += ",\"path\":";
    append_json_string(out, r.path.view());
    if (r.path.truncated) out += ",\"path_truncated\":true";
    out += ",\"protocol\":";
    append_protocol(out, r.http_version, "null");
    out += ",\"host\":";
    append_json_string(out, r.host.view());
    out += ",\"user_agent\":";
    append_json_string(out, r.user_agent.view());
    // HTTP only: a TCP connection has no status (not 0) and no request id.
    out += ",\"status\":";
    append_int(out, r.status);
    out += ",\"upstream_status\":";
    if (r.upstream_status == 0) {
      out += "null";
    } else {
      append_int(out, r.upstream_status);
    }
  }
  out += ",\"bytes_received\":";
  append_int(out, r.bytes_received);
  out += ",\"bytes_sent\":";
  append_int(out, r.bytes_sent);
  out += ",\"duration_ms\":";
  append_ms(out, r.duration_ns);
  out += ",\"upstream_duration_ms\":";
  if (r.upstream_duration_ns < 0) {
    out += "null";
  } else {
    append_ms(out, r.upstream_duration_ns);
  }
  if (http) {
    out += ",\"request_id\":";
    append_json_string(out, r.request_id.view());
  }
  if (!r.tls_version.empty())
    for (const auto& [key, value] : {std::pair{",\"tls_version\":", r.tls_version.view()},
                                     {",\"tls_cipher\":", r.tls_cipher.view()},
                                     {",\"tls_sni\":", r.tls_sni.view()}}) {
      out += key;
      append_json_string(out, value);
    }
  out += ",\"rate_limit\":\"";
  out += to_string(r.rate_limit);
  out += "\",\"rate_limit_name\":";  // which limit refused or queued it, and the wait
  if (r.limit_name.empty()) {
    out += "null,\"rate_limit_delay_ms\":null";
  } else {
    append_json_string(out, r.limit_name.view());
    out += ",\"rate_limit_delay_ms\":";
    append_ms(out, r.limit_delay_ns);
  }
  out += ",\"breaker\":\"";
  out += to_string(r.breaker);
  out += "\",\"error\":";
  if (r.error.empty()) {
    out += "null";
  } else {
    append_json_string(out, r.error.view());
  }
  if (http) {
    out += ",\"fallback\":";
    if (r.fallback.empty()) {
      out += "null";
    } else {
      append_json_string(out, r.fallback.view());
    }
  }
  out += "}\n";
}

void LineFormatter::append_text(std::string& out, const AccessRecord& r) {
  const bool http = r.kind == Kind::http;
  append_time(out, r.start_unix_ns);
  out += ' ';
  out += to_string(r.kind);
  out += ' ';
  append_text_field(out, r.client.view());
  if (http) {
    out += " \"";
    append_text_field(out, r.method.view());
    out += ' ';
    append_text_field(out, r.path.view());
    if (r.path.truncated) out += "...";
    out += ' ';
    append_protocol(out, r.http_version, "-");
    out += "\" ";
    append_int(out, r.status);
  }
  out += " rx=";
  append_int(out, r.bytes_received);
  out += " tx=";
  append_int(out, r.bytes_sent);
  out += " dur=";
  append_ms(out, r.duration_ns);
  out += "ms up=";
  if (r.upstream_duration_ns < 0) {
    out += '-';
  } else {
    append_ms(out, r.upstream_duration_ns);
    out += "ms";
  }
  out += " listener=";
  append_text_field(out, r.listener.view());
  if (http) {
    out += " route=";
    append_text_field(out, r.route.view());
  }
  out += " cluster=";
  append_text_field(out, r.cluster.view());
  out += " endpoint=";
  append_text_field(out, r.endpoint.view());
  if (http) {
    out += " upstream_status=";
    if (r.upstream_status == 0) {
      out += '-';
    } else {
      append_int(out, r.upstream_status);
    }
    out += " host=";
    append_text_field(out, r.host.view());
    out += " id=";
    append_text_field(out, r.request_id.view());
  }
  if (!r.tls_version.empty())
    for (const auto& [key, value] : {std::pair{" tls=", r.tls_version.view()},
                                     {"/", r.tls_cipher.view()},
                                     {" sni=", r.tls_sni.view()}}) {
      out += key;
      append_text_field(out, value);
    }
  out += " rl=";
  out += to_string(r.rate_limit);
  if (!r.limit_name.empty()) {
    out += " rl_name=";
    append_text_field(out, r.limit_name.view());
    out += " rl_delay=";
    append_ms(out, r.limit_delay_ns);
    out += "ms";
  }
  out += " breaker=";
  out += to_string(r.breaker);
  out += " err=";
  append_text_field(out, r.error.view());
  if (http) {
    out += " fallback=";
    append_text_field(out, r.fallback.view());
  }
  out += '\n';
}

}  // namespace sluice::access_log
