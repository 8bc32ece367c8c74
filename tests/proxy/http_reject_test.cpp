// Malformed requests: every rule of the strict parser, one row each (or more),
// fed whole, byte by byte and split at every offset.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "http_test_util.hpp"

namespace sluice::proxy::http {
namespace {

using test::parse_request;

struct RejectRow {
  const char* name;
  std::string raw;
  int status;
  std::string_view code;
  Limits limits{};

  // gtest names rows by their name instead of dumping bytes.
  void PrintTo(const RejectRow& row, std::ostream* os) { *os << row.name; }
};

std::string with_host(std::string_view request_line, std::string_view fields = "") {
  return std::string(request_line) + "\r\nHost: a.example\r\n" + std::string(fields) + "\r\n";
}

// A literal with embedded NULs, without its terminator.
template <size_t N>
std::string raw(const char (&s)[N]) {
  return std::string(s, N - 1);
}

Limits small(size_t line, size_t bytes, size_t count) {
  return Limits{line, bytes, count};
}

const std::vector<RejectRow>& rows() {
  static const std::vector<RejectRow> r = {
      // Line endings.
      {"bare_lf_request_line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare-lf"},
      {"bare_lf_header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400, "bare-lf"},
      {"bare_lf_final", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare-lf"},
      {"bare_lf_leading", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare-lf"},
      {"bare_cr_in_value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, "bare-cr"},
      {"bare_cr_request_line", "GET / HTTP/1.1\rX\r\nHost: a\r\n\r\n", 400, "bare-cr"},
      {"too_many_empty_lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
       "bad-start-line"},
      // Control characters.
      {"nul_in_value", raw("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"), 400,
       "bad-header-value"},
      {"del_in_value", with_host("GET / HTTP/1.1", "X: a\x7f\r\n"), 400, "bad-header-value"},
      {"ctl_in_value", with_host("GET / HTTP/1.1", "X: a\x01z\r\n"), 400, "bad-header-value"},
      {"esc_in_value", with_host("GET / HTTP/1.1", "X: \x1b[31m\r\n"), 400, "bad-header-value"},
      {"nul_in_name", raw("GET / HTTP/1.1\r\nHost: a\r\nX\0Y: b\r\n\r\n"), 400, "bad-header-name"},
      {"ctl_in_request_line", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad-start-line"},
      {"htab_in_request_line", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad-start-line"},
      // Field syntax.
      {"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "space-before-colon"},
      {"tab_before_colon", with_host("GET / HTTP/1.1", "X\t: a\r\n"), 400, "space-before-colon"},
      {"obs_fold", with_host("GET / HTTP/1.1", "X: a\r\n b\r\n"), 400, "obs-fold"},
      {"obs_fold_tab", with_host("GET / HTTP/1.1", "X: a\r\n\tb\r\n"), 400, "obs-fold"},
      {"space_before_first_field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "obs-fold"},
      {"bad_name_char", with_host("GET / HTTP/1.1", "X(y): a\r\n"), 400, "bad-header-name"},
      {"empty_name", with_host("GET / HTTP/1.1", ": a\r\n"), 400, "bad-header-name"},
      {"no_colon", with_host("GET / HTTP/1.1", "Xyz\r\n"), 400, "bad-header-name"},
      {"bad_connection_list", with_host("GET / HTTP/1.1", "Connection: a b\r\n"), 400,
       "bad-connection"},
      {"underscore_content_length", with_host("POST / HTTP/1.1", "Content_Length: 5\r\n"), 400,
       "bad-header-name"},
      {"underscore_transfer_encoding",
       with_host("POST / HTTP/1.1", "transfer_encoding: chunked\r\n"), 400, "bad-header-name"},
      // Content-Length.
      {"cl_and_te",
       with_host("POST / HTTP/1.1", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400,
       "conflicting-framing"},
      {"te_and_cl",
       with_host("POST / HTTP/1.1", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400,
       "conflicting-framing"},
      {"cl_and_bad_te",
       with_host("POST / HTTP/1.1", "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n"), 400,
       "conflicting-framing"},
      {"cl_differing", with_host("POST / HTTP/1.1", "Content-Length: 5\r\nContent-Length: 6\r\n"),
       400, "bad-content-length"},
      {"cl_duplicate_equal",
       with_host("POST / HTTP/1.1", "Content-Length: 5\r\nContent-Length: 5\r\n"), 400,
       "bad-content-length"},
      {"cl_list", with_host("POST / HTTP/1.1", "Content-Length: 1, 1\r\n"), 400,
       "bad-content-length"},
      {"cl_not_digits", with_host("POST / HTTP/1.1", "Content-Length: abc\r\n"), 400,
       "bad-content-length"},
      {"cl_negative", with_host("POST / HTTP/1.1", "Content-Length: -1\r\n"), 400,
       "bad-content-length"},
      {"cl_plus", with_host("POST / HTTP/1.1", "Content-Length: +5\r\n"), 400,
       "bad-content-length"},
      {"cl_hex", with_host("POST / HTTP/1.1", "Content-Length: 0x10\r\n"), 400,
       "bad-content-length"},
      {"cl_overflow", with_host("POST / HTTP/1.1", "Content-Length: 18446744073709551616\r\n"), 400,
       "bad-content-length"},
      {"cl_empty", with_host("POST / HTTP/1.1", "Content-Length:\r\n"), 400, "bad-content-length"},
      {"cl_inner_space", with_host("POST / HTTP/1.1", "Content-Length: 1 2\r\n"), 400,
       "bad-content-length"},
      // Transfer-Encoding.
      {"te_xchunked", with_host("POST / HTTP/1.1", "Transfer-Encoding: xchunked\r\n"), 400,
       "bad-transfer-encoding"},
      {"te_chunked_identity",
       with_host("POST / HTTP/1.1", "Transfer-Encoding: chunked, identity\r\n"), 400,
       "bad-transfer-encoding"},
      {"te_gzip_only", with_host("POST / HTTP/1.1", "Transfer-Encoding: gzip\r\n"), 400,
       "bad-transfer-encoding"},
      {"te_chunked_twice", with_host("POST / HTTP/1.1", "Transfer-Encoding: chunked, chunked\r\n"),
       400, "bad-transfer-encoding"},
      {"te_two_fields",
       with_host("POST / HTTP/1.1", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
       400, "bad-transfer-encoding"},
      {"te_parameter", with_host("POST / HTTP/1.1", "Transfer-Encoding: chunked;q=1\r\n"), 400,
       "bad-transfer-encoding"},
      {"te_empty", with_host("POST / HTTP/1.1", "Transfer-Encoding:\r\n"), 400,
       "bad-transfer-encoding"},
      {"te_empty_element", with_host("POST / HTTP/1.1", "Transfer-Encoding: , chunked\r\n"), 400,
       "bad-transfer-encoding"},
      {"te_gzip_chunked", with_host("POST / HTTP/1.1", "Transfer-Encoding: gzip, chunked\r\n"), 501,
       "unsupported-transfer-coding"},
      {"te_split_gzip_chunked",
       with_host("POST / HTTP/1.1", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
       501, "unsupported-transfer-coding"},
      {"te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       "transfer-encoding-http10"},
      // Host.
      {"host_missing", "GET / HTTP/1.1\r\nX: a\r\n\r\n", 400, "missing-host"},
      {"host_duplicate", with_host("GET / HTTP/1.1", "Host: a.example\r\n"), 400, "duplicate-host"},
      {"host_duplicate_http10", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400,
       "duplicate-host"},
      {"host_userinfo", "GET / HTTP/1.1\r\nHost: u@a.example\r\n\r\n", 400, "bad-host"},
      {"host_comma", "GET / HTTP/1.1\r\nHost: a.example,b.example\r\n\r\n", 400, "bad-host"},
      {"host_empty_port", "GET / HTTP/1.1\r\nHost: a.example:\r\n\r\n", 400, "bad-host"},
      {"host_big_port", "GET / HTTP/1.1\r\nHost: a.example:65536\r\n\r\n", 400, "bad-host"},
      {"host_space", "GET / HTTP/1.1\r\nHost: a example\r\n\r\n", 400, "bad-host"},
      {"host_mismatch", "GET http://b.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", 400,
       "host-mismatch"},
      {"host_mismatch_port", "GET http://a.example:81/ HTTP/1.1\r\nHost: a.example\r\n\r\n", 400,
       "host-mismatch"},
      {"host_empty_with_authority", "GET http://a.example/ HTTP/1.1\r\nHost:\r\n\r\n", 400,
       "bad-host"},
      // Method, target, version.
      {"bad_method", with_host("G(T / HTTP/1.1"), 400, "bad-method"},
      {"double_space", with_host("GET  / HTTP/1.1"), 400, "bad-target"},
      {"target_fragment", with_host("GET /a#b HTTP/1.1"), 400, "bad-target"},
      {"target_bad_percent", with_host("GET /a%zz HTTP/1.1"), 400, "bad-target"},
      {"target_short_percent", with_host("GET /a%4 HTTP/1.1"), 400, "bad-target"},
      {"target_non_ascii", with_host("GET /\xc3\xa9 HTTP/1.1"), 400, "bad-target"},
      {"target_backslash", with_host("GET /a\\b HTTP/1.1"), 400, "bad-target"},
      {"target_ftp", with_host("GET ftp://a.example/ HTTP/1.1"), 400, "bad-target"},
      {"target_authority_form_get", with_host("GET a.example:80 HTTP/1.1"), 400, "bad-target"},
      {"target_asterisk_get", with_host("GET * HTTP/1.1"), 400, "bad-target"},
      {"target_relative", with_host("GET a/b HTTP/1.1"), 400, "bad-target"},
      {"target_absolute_userinfo", "GET http://u@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
       400, "bad-target"},
      {"connect", with_host("CONNECT a.example:443 HTTP/1.1"), 501, "connect-unsupported"},
      {"version_2", with_host("GET / HTTP/2.0"), 505, "unsupported-version"},
      {"version_0_9", with_host("GET / HTTP/0.9"), 505, "unsupported-version"},
      {"version_lowercase", with_host("GET / http/1.1"), 400, "bad-version"},
      {"version_long", with_host("GET / HTTP/1.10"), 400, "bad-version"},
      {"version_missing", with_host("GET /"), 400, "bad-version"},
      {"expect_other", with_host("POST / HTTP/1.1", "Expect: 200-ok\r\n"), 417,
       "unsupported-expectation"},
      // Limits.
      {"request_line_too_long", with_host("GET /" + std::string(100, 'a') + " HTTP/1.1"), 414,
       "request-line-too-long", small(64, 1024, 10)},
      {"too_many_headers", with_host("GET / HTTP/1.1", "A: 1\r\nB: 2\r\nC: 3\r\n"), 431,
       "too-many-headers", small(64, 1024, 3)},
      {"header_too_large", with_host("GET / HTTP/1.1", "A: " + std::string(100, 'x') + "\r\n"), 431,
       "header-too-large", small(64, 64, 10)},
  };
  return r;
}

class RejectTest : public ::testing::TestWithParam<RejectRow> {};

TEST_P(RejectTest, RejectedTheSameWayAtEverySplit) {
  const RejectRow& row = GetParam();
  const auto r = parse_request(row.raw, row.limits);
  ASSERT_EQ(r.status, Status::error) << test::describe(r);
  EXPECT_EQ(r.error.status, row.status);
  EXPECT_EQ(r.error.code, row.code);
  EXPECT_FALSE(r.error.detail.empty());
}

INSTANTIATE_TEST_SUITE_P(Http, RejectTest, ::testing::ValuesIn(rows()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RejectTest, TableIsLargeAndNamesAreUnique) {
  EXPECT_GE(rows().size(), 40u);
  std::set<std::string_view> names;
  for (const auto& r : rows()) EXPECT_TRUE(names.insert(r.name).second) << r.name;
}

TEST(RejectTest, ErrorIsStickyUntilReset) {
  auto p = HeadParser::request({});
  size_t consumed = 0;
  ASSERT_EQ(p.feed("GET / HTTP/1.1\n", consumed), Status::error);
  EXPECT_EQ(consumed, 14u);  // the offending LF
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n", consumed), Status::error);
  EXPECT_EQ(consumed, 0u);
  p.reset();
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n", consumed), Status::done);
}

}  // namespace
}  // namespace sluice::proxy::http
