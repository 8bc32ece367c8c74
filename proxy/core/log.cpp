#include "proxy/core/log.hpp"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace sluice::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<int> g_format{static_cast<int>(Format::text)};
const char* name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "?";
}
}  // namespace

void set_level(Level level) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void set_format(Format format) {
  g_format.store(static_cast<int>(format), std::memory_order_relaxed);
}

namespace {

// `text` as a JSON string body: quotes, backslashes and control characters escaped.
void append_json_escaped(std::string& out, std::string_view text) {
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\u%04x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

}  // namespace

void write(Level level, const char* format, ...) {
  char message[1024];
  va_list args;
  va_start(args, format);
  const int m = std::vsnprintf(message, sizeof message, format, args);
  va_end(args);
  std::string_view text(message, m < 0 ? 0 : std::min<size_t>(size_t(m), sizeof message - 1));
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);

  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char time[64];  // 24 bytes; room for any year the compiler can imagine
  std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                ts.tv_nsec / 1000000);

  // One write() per message, so lines of concurrent threads never interleave.
  std::string out;
  out.reserve(text.size() + 64);
  if (static_cast<Format>(g_format.load(std::memory_order_relaxed)) == Format::json) {
    out += "{\"time\":\"";
    out += time;
    out += "\",\"level\":\"";
    out += name(level);
    out += "\",\"msg\":\"";
    append_json_escaped(out, text);
    out += "\"}\n";
  } else {
    for (;;) {
      const size_t eol = text.find('\n');
      ((out += time) += ' ') += name(level);
      (out += ' ') += text.substr(0, eol);
      out += '\n';
      if (eol == std::string_view::npos) break;
      text.remove_prefix(eol + 1);
    }
  }
  ssize_t ignored = ::write(STDERR_FILENO, out.data(), out.size());
  (void)ignored;
}

bool Throttle::allow() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  if (ts.tv_sec == last_second_) return false;
  last_second_ = ts.tv_sec;
  return true;
}

}  // namespace sluice::log
