#include "proxy/access_log/format.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "tests/access_log/test_util.hpp"

namespace sluice::access_log {
namespace {

namespace json = boost::json;
using testing::http_record;
using testing::tcp_record;

// Parses strictly (Boost rejects ill-formed UTF-8 by default) and checks the
// line is a single line ending in '\n'.
json::object parse_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  EXPECT_FALSE(ec) << ec.message() << " in " << line;
  EXPECT_TRUE(v.is_object());
  return v.is_object() ? v.as_object() : json::object{};
}

std::string json_line(const AccessRecord& r) {
  LineFormatter f;
  std::string out;
  f.append_json(out, r);
  return out;
}

std::string text_line(const AccessRecord& r) {
  LineFormatter f;
  std::string out;
  f.append_text(out, r);
  return out;
}

std::string path_after_roundtrip(std::string_view path) {
  AccessRecord r = http_record(1);
  set(r.path, path);
  const json::object o = parse_line(json_line(r));
  return std::string(o.at("path").as_string());
}

TEST(Format, HttpJsonHasExactFields) {
  AccessRecord r = http_record(7);
  set(r.error, "upstream-connect-failed");
  const std::string line = json_line(r);
  const json::object o = parse_line(line);
  EXPECT_EQ(o.size(), 25u);
  EXPECT_EQ(o.at("time").as_string(), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(o.at("kind").as_string(), "http");
  EXPECT_EQ(o.at("client").as_string(), "10.0.0.1:5555");
  EXPECT_EQ(o.at("listener").as_string(), "web");
  EXPECT_EQ(o.at("route").as_string(), "api");
  EXPECT_EQ(o.at("cluster").as_string(), "backend");
  EXPECT_EQ(o.at("endpoint").as_string(), "10.0.0.2:8080");
  EXPECT_EQ(o.at("method").as_string(), "GET");
  EXPECT_EQ(o.at("path").as_string(), "/v1/items?id=7");
  EXPECT_EQ(o.at("protocol").as_string(), "HTTP/1.1");
  EXPECT_EQ(o.at("host").as_string(), "api.example");
  EXPECT_EQ(o.at("user_agent").as_string(), "curl/7.88.1");
  EXPECT_EQ(o.at("status").as_int64(), 200);
  EXPECT_EQ(o.at("upstream_status").as_int64(), 200);
  EXPECT_EQ(o.at("bytes_received").as_int64(), 321);
  EXPECT_EQ(o.at("bytes_sent").as_int64(), 7);
  EXPECT_DOUBLE_EQ(o.at("duration_ms").as_double(), 1.234);
  EXPECT_DOUBLE_EQ(o.at("upstream_duration_ms").as_double(), 0.8);
  EXPECT_EQ(o.at("request_id").as_string(), "req-7");
  EXPECT_EQ(o.at("rate_limit").as_string(), "admitted");
  EXPECT_EQ(o.at("breaker").as_string(), "allowed");
  EXPECT_EQ(o.at("error").as_string(), "upstream-connect-failed");
  EXPECT_TRUE(o.at("fallback").is_null());
  // Field order is part of the format: people grep and eyeball these lines.
  EXPECT_EQ(
      line,
      "{\"time\":\"2024-05-01T12:34:56.789Z\",\"kind\":\"http\",\"client\":\"10.0.0.1:5555\","
      "\"listener\":\"web\",\"route\":\"api\",\"cluster\":\"backend\",\"endpoint\":\"10.0.0.2:"
      "8080\",\"method\":\"GET\",\"path\":\"/v1/items?id=7\",\"protocol\":\"HTTP/1.1\",\"host\":"
      "\"api.example\",\"user_agent\":\"curl/7.88.1\",\"status\":200,\"upstream_status\":200,"
      "\"bytes_received\":321,\"bytes_sent\":7,\"duration_ms\":1.234,\"upstream_duration_ms\":0."
      "800,\"request_id\":"
      "\"req-7\",\"rate_limit\":\"admitted\",\"rate_limit_name\":null,\"rate_limit_delay_ms\":"
      "null,\"breaker\":\"allowed\",\"error\":\"upstream-connect-failed\",\"fallback\":null}\n");
}

TEST(Format, FallbackNamesWhyTheRoutesFallbackAnswered) {
  AccessRecord r = http_record(7);
  set(r.error, "circuit-open");
  set(r.fallback, "circuit-open");
  const std::string line = json_line(r);
  EXPECT_NE(line.find(",\"error\":\"circuit-open\",\"fallback\":\"circuit-open\"}\n"),
            std::string::npos)
      << line;
  EXPECT_NE(text_line(r).find(" err=circuit-open fallback=circuit-open\n"), std::string::npos);
  // A TCP line has no route, so no fallback either.
  EXPECT_FALSE(parse_line(json_line(tcp_record(3))).contains("fallback"));
}

TEST(Format, TcpJsonOmitsHttpFieldsAndNullsWhatIsMissing) {
  const json::object o = parse_line(json_line(tcp_record(3)));
  EXPECT_EQ(o.size(), 15u);
  EXPECT_FALSE(o.contains("method"));
  EXPECT_FALSE(o.contains("path"));
  EXPECT_FALSE(o.contains("route"));
  // No status (not "status":0) and no request id: a TCP connection has neither.
  EXPECT_FALSE(o.contains("status"));
  EXPECT_FALSE(o.contains("request_id"));
  for (const char* http_only : {"protocol", "host", "user_agent", "upstream_status"})
    EXPECT_FALSE(o.contains(http_only)) << http_only;
  EXPECT_EQ(o.at("kind").as_string(), "tcp");
  EXPECT_TRUE(o.at("upstream_duration_ms").is_null());
  EXPECT_TRUE(o.at("error").is_null());
  EXPECT_EQ(o.at("rate_limit").as_string(), "none");
  EXPECT_EQ(o.at("breaker").as_string(), "none");
}

TEST(Format, EnumsSpellTheirNames) {
  AccessRecord r = http_record(1);
  r.rate_limit = LimitOutcome::limited;
  r.breaker = BreakerOutcome::probe;
  json::object o = parse_line(json_line(r));
  EXPECT_EQ(o.at("rate_limit").as_string(), "limited");
  EXPECT_EQ(o.at("breaker").as_string(), "probe");
  r.breaker = BreakerOutcome::rejected;
  o = parse_line(json_line(r));
  EXPECT_EQ(o.at("breaker").as_string(), "rejected");
}

TEST(Format, DurationsInMillisecondsWithMicrosecondDigits) {
  AccessRecord r = http_record(1);
  r.duration_ns = 999;  // below a microsecond
  r.upstream_duration_ns = 0;
  std::string line = json_line(r);
  EXPECT_NE(line.find("\"duration_ms\":0.000,"), std::string::npos) << line;
  EXPECT_NE(line.find("\"upstream_duration_ms\":0.000,"), std::string::npos) << line;
  r.duration_ns = 12'345'678'901;  // 12.3 s
  line = json_line(r);
  EXPECT_NE(line.find("\"duration_ms\":12345.678,"), std::string::npos) << line;
  r.duration_ns = -5;  // a clock step backwards must not print a negative time
  line = json_line(r);
  EXPECT_NE(line.find("\"duration_ms\":0.000,"), std::string::npos) << line;
}

TEST(Format, Rfc3339Milliseconds) {
  const auto at = [](int64_t ns) {
    std::string s;
    append_rfc3339_ms(s, ns);
    return s;
  };
  EXPECT_EQ(at(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(at(1714566896789999999), "2024-05-01T12:34:56.789Z");  // truncated, not rounded
  EXPECT_EQ(at(951782400'000'000'000 + 1'000'000), "2000-02-29T00:00:00.001Z");
  EXPECT_EQ(at(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Format, TimeCacheFollowsSecondChanges) {
  LineFormatter f;
  AccessRecord r = http_record(1);
  for (int64_t ns : {1714566896'000'000'000, 1714566897'500'000'000, 1714566896'001'000'000}) {
    r.start_unix_ns = ns;
    std::string line;
    f.append_json(line, r);
    std::string expect;
    append_rfc3339_ms(expect, ns);
    EXPECT_EQ(parse_line(line).at("time").as_string(), expect);
  }
}

TEST(Format, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(path_after_roundtrip("/a\"b\\c"), "/a\"b\\c");
  EXPECT_EQ(path_after_roundtrip("/line\nbreak\r\ttab"), "/line\nbreak\r\ttab");
  const std::string controls = std::string("/\x00\x01\x1f\x7f", 5);
  EXPECT_EQ(path_after_roundtrip(controls), controls);
  // The raw line carries no control byte below 0x20 except the final newline.
  AccessRecord r = http_record(1);
  set(r.path, controls + "\n\"");
  const std::string line = json_line(r);
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    EXPECT_GE(static_cast<unsigned char>(line[i]), 0x20) << "at " << i;
  }
}

TEST(Format, RepairsInvalidUtf8) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(path_after_roundtrip("/\xFF"), "/" + fffd);
  EXPECT_EQ(path_after_roundtrip("/\xC0\xAF"), "/" + fffd + fffd);             // overlong '/'
  EXPECT_EQ(path_after_roundtrip("/\xED\xA0\x80"), "/" + fffd + fffd + fffd);  // surrogate
  EXPECT_EQ(path_after_roundtrip("/\xF4\x90\x80\x80x"), "/" + fffd + fffd + fffd + fffd + "x");
  EXPECT_EQ(path_after_roundtrip("/\xE2\x82"), "/" + fffd + fffd);  // cut short
  // Well-formed multi-byte text passes untouched.
  EXPECT_EQ(path_after_roundtrip("/caf\xC3\xA9/\xF0\x9D\x84\x9E/\xE2\x82\xAC"),
            "/caf\xC3\xA9/\xF0\x9D\x84\x9E/\xE2\x82\xAC");
}

TEST(Format, Utf8Validation) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("\xC2\x80\xDF\xBF"));
  EXPECT_TRUE(valid_utf8("\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"));
  EXPECT_TRUE(valid_utf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));
  EXPECT_FALSE(valid_utf8("\x80"));
  EXPECT_FALSE(valid_utf8("\xC1\xBF"));
  EXPECT_FALSE(valid_utf8("\xE0\x9F\xBF"));
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));
  EXPECT_FALSE(valid_utf8("\xF0\x8F\xBF\xBF"));
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));
  EXPECT_FALSE(valid_utf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(valid_utf8("\xC3"));
  EXPECT_FALSE(valid_utf8("\xE2\x82\x41"));
}

TEST(Format, TruncatedPathIsMarked) {
  AccessRecord r = http_record(1);
  set(r.path, std::string(600, 'p'));
  json::object o = parse_line(json_line(r));
  EXPECT_EQ(o.at("path").as_string().size(), AccessRecord::kPathMax);
  EXPECT_TRUE(o.at("path_truncated").as_bool());
  set(r.path, "/short");
  o = parse_line(json_line(r));
  EXPECT_FALSE(o.contains("path_truncated"));
}

TEST(Format, TextLines) {
  AccessRecord r = http_record(7);
  EXPECT_EQ(
      text_line(r),
      "2024-05-01T12:34:56.789Z http 10.0.0.1:5555 \"GET /v1/items?id=7 HTTP/1.1\" 200 rx=321 "
      "tx=7 dur=1.234ms up=0.800ms listener=web route=api cluster=backend "
      "endpoint=10.0.0.2:8080 upstream_status=200 host=api.example id=req-7 rl=admitted "
      "breaker=allowed err=- fallback=-\n");
  EXPECT_EQ(text_line(tcp_record(9)),
            "2024-05-01T12:34:56.789Z tcp 10.0.0.1:5555 rx=321 tx=9 dur=1.234ms up=- "
            "listener=web cluster=backend endpoint=10.0.0.2:8080 rl=none breaker=none err=-\n");
}

TEST(Format, TextEscapesAndMarksTruncation) {
  AccessRecord r = http_record(1);
  set(r.path, "/a b\"c\\d\n\xFF\xC3\xA9");
  set(r.error, "bad-target");
  const std::string line = text_line(r);
  EXPECT_NE(line.find("\"GET /a\\x20b\\\"c\\\\d\\x0a\\xff\xC3\xA9 HTTP/1.1\" 200"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(" err=bad-target fallback=-\n"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  set(r.path, std::string(600, 'p'));
  EXPECT_NE(text_line(r).find(std::string(512, 'p') + "... HTTP/1.1\" 200"), std::string::npos);
}

}  // namespace
}  // namespace sluice::access_log
