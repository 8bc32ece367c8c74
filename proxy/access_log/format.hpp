// Turns AccessRecords into log lines: one JSON object per line, or a text line
// for people reading a terminal. Field values come from clients (the path, a
// request id), so every string is escaped and repaired to valid UTF-8; a line
// can never break a log parser or smuggle a second line.
//
// Threads: a LineFormatter keeps scratch state and belongs to one thread (the
// writer thread). The free functions are pure and safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/serializer.hpp>

#include "proxy/access_log/record.hpp"

namespace sluice::access_log {

// True when `s` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF).
bool valid_utf8(std::string_view s) noexcept;

// Appends `s` with every ill-formed byte replaced by U+FFFD.
void append_repaired_utf8(std::string& out, std::string_view s);

// "2024-05-01T12:34:56.789Z" for a CLOCK_REALTIME instant in nanoseconds.
void append_rfc3339_ms(std::string& out, int64_t unix_ns);

class LineFormatter {
 public:
  // `"time":…,"kind":…,…,"error":…}` and '\n'. tcp lines omit route, method, path,
  // protocol, host, user_agent, status, upstream_status and request_id;
  // "path_truncated":true appears only when the path was cut; protocol,
  // upstream_status, upstream_duration_ms and error are null when there was none.
  // Every field is described in docs/access-log.md.
  void append_json(std::string& out, const AccessRecord& record);

  // time kind client ["METHOD path PROTOCOL"] status rx= tx= dur= up= listener= route=
  // cluster= endpoint= [upstream_status= host= id=] rl= breaker= err= and '\n' (the user
  // agent is JSON-only). Empty fields print "-";
  // a cut path ends in "..."; bytes outside printable UTF-8 print as \xNN.
  void append_text(std::string& out, const AccessRecord& record);

  // A JSON string literal, quotes included.
  void append_json_string(std::string& out, std::string_view s);

 private:
  void append_time(std::string& out, int64_t unix_ns);

  boost::json::serializer serializer_;
  std::string repaired_;
  int64_t cached_second_ = INT64_MIN;  // second whose prefix is in cached_prefix_
  std::string cached_prefix_;          // "YYYY-MM-DDTHH:MM:SS"
};

}  // namespace sluice::access_log
