// BodyScanner: where a body ends, at every split of the input, and strict chunk framing.
#include <gtest/gtest.h>

#include <string>

#include "http_test_util.hpp"

namespace sluice::proxy::http {
namespace {

Head framed(Framing framing, uint64_t length = 0, bool is_request = true) {
  Head h;
  h.is_request = is_request;
  h.framing = framing;
  h.content_length = length;
  return h;
}

test::FeedResult scan(const Head& head, std::string_view input, const Limits& limits = {}) {
  return test::feed_every_way([&] { return BodyScanner(head, limits); }, input);
}

TEST(BodyTest, ContentLengthEndsExactly) {
  const auto r = scan(framed(Framing::content_length, 5),
                      "hello"
                      "GET / HTTP/1.1\r\n");
  ASSERT_EQ(r.status, Status::done);
  EXPECT_EQ(r.end, 5u);
  BodyScanner s(framed(Framing::content_length, 5));
  size_t consumed = 0;
  EXPECT_EQ(s.feed("hel", consumed), Status::need_more);
  EXPECT_EQ(consumed, 3u);
  EXPECT_EQ(s.feed("loXX", consumed), Status::done);
  EXPECT_EQ(consumed, 2u);
  EXPECT_EQ(s.body_bytes(), 5u);
  EXPECT_EQ(s.feed("more", consumed), Status::done);
  EXPECT_EQ(consumed, 0u);
}

TEST(BodyTest, NoBodyAndZeroLength) {
  size_t consumed = 7;
  BodyScanner none(framed(Framing::none));
  EXPECT_EQ(none.feed("GET", consumed), Status::done);
  EXPECT_EQ(consumed, 0u);
  BodyScanner zero(framed(Framing::content_length, 0));
  EXPECT_EQ(zero.feed("", consumed), Status::done);
  EXPECT_EQ(consumed, 0u);
  BodyScanner dflt;
  EXPECT_EQ(dflt.feed("x", consumed), Status::done);
}

TEST(BodyTest, UntilClose) {
  BodyScanner s(framed(Framing::until_close, 0, false));
  size_t consumed = 0;
  EXPECT_EQ(s.feed("abc", consumed), Status::need_more);
  EXPECT_EQ(consumed, 3u);
  EXPECT_EQ(s.eof(), Status::done);
}

TEST(BodyTest, TruncatedBodiesAtEof) {
  BodyScanner cl(framed(Framing::content_length, 5));
  size_t consumed = 0;
  cl.feed("abc", consumed);
  EXPECT_EQ(cl.eof(), Status::error);
  EXPECT_EQ(cl.error().code, "truncated-body");
  EXPECT_EQ(cl.error().status, 400);
  BodyScanner ch(framed(Framing::chunked, 0, false));
  ch.feed("3\r\nab", consumed);
  EXPECT_EQ(ch.eof(), Status::error);
  EXPECT_EQ(ch.error().status, 502);
}

TEST(BodyTest, ChunkedWithExtensionsAndTrailers) {
  const std::string body =
      "5;name=value;flag;q=\"quo\\\"ted; x\"\r\nhello\r\n"
      "A\r\n0123456789\r\n"
      "000\r\n"
      "Trailer-One: 1\r\nChecksum: ab\tcd\r\n\r\n";
  const auto r = scan(framed(Framing::chunked), body + "GET / HTTP/1.1\r\n");
  ASSERT_EQ(r.status, Status::done) << test::describe(r);
  EXPECT_EQ(r.end, body.size());
  BodyScanner s(framed(Framing::chunked));
  size_t consumed = 0;
  ASSERT_EQ(s.feed(body, consumed), Status::done);
  EXPECT_EQ(s.body_bytes(), 15u);
}

TEST(BodyTest, ChunkedMinimalAndUppercaseHex) {
  EXPECT_EQ(scan(framed(Framing::chunked), "0\r\n\r\n").end, 5u);
  EXPECT_EQ(scan(framed(Framing::chunked), "1F\r\n" + std::string(31, 'x') + "\r\n0\r\n\r\n").end,
            42u);
  EXPECT_EQ(scan(framed(Framing::chunked), "ffffffff\r\n").status, Status::need_more);
  EXPECT_EQ(scan(framed(Framing::chunked), "0000000000000001\r\nx\r\n0\r\n\r\n").status,
            Status::done);
}

struct BadChunk {
  const char* name;
  std::string raw;
  std::string_view code;
};

// gtest names rows by their name instead of dumping bytes.
void PrintTo(const BadChunk& row, std::ostream* os) {
  *os << row.name;
}

class BadChunkTest : public ::testing::TestWithParam<BadChunk> {};

TEST_P(BadChunkTest, Rejected) {
  const auto r = scan(framed(Framing::chunked), GetParam().raw, Limits{8192, 64, 2});
  ASSERT_EQ(r.status, Status::error) << test::describe(r);
  EXPECT_EQ(r.error.status, 400);
  EXPECT_EQ(r.error.code, GetParam().code);
  const auto upstream =
      scan(framed(Framing::chunked, 0, false), GetParam().raw, Limits{8192, 64, 2});
  EXPECT_EQ(upstream.error.status, 502);
}

INSTANTIATE_TEST_SUITE_P(
    Http, BadChunkTest,
    ::testing::Values(
        BadChunk{"empty_size", "\r\nabc\r\n0\r\n\r\n", "bad-chunk-size"},
        BadChunk{"non_hex", "g\r\n", "bad-chunk-size"},
        BadChunk{"sign", "+5\r\nhello\r\n", "bad-chunk-size"},
        BadChunk{"hex_prefix", "0x5\r\nhello\r\n", "bad-chunk-size"},
        BadChunk{"leading_space", " 5\r\nhello\r\n", "bad-chunk-size"},
        BadChunk{"trailing_space", "5 \r\nhello\r\n", "bad-chunk-size"},
        BadChunk{"space_before_ext", "5 ;a\r\nhello\r\n", "bad-chunk-size"},
        BadChunk{"overflow", "10000000000000000\r\n", "chunk-size-overflow"},
        BadChunk{"overflow_zeros", "00000000000000005\r\nhello\r\n", "chunk-size-overflow"},
        BadChunk{"bare_lf_size", "5\nhello\r\n0\r\n\r\n", "bare-lf"},
        BadChunk{"bare_lf_ext", "5;a=b\nhello\r\n", "bare-lf"},
        BadChunk{"bare_cr_size", "5\rhello\r\n", "bare-cr"},
        BadChunk{"ext_empty_name", "5;\r\nhello\r\n", "bad-chunk-extension"},
        BadChunk{"ext_space", "5; a\r\nhello\r\n", "bad-chunk-extension"},
        BadChunk{"ext_empty_value", "5;a=\r\nhello\r\n", "bad-chunk-extension"},
        BadChunk{"ext_bad_value", "5;a=b c\r\nhello\r\n", "bad-chunk-extension"},
        BadChunk{"ext_unterminated_quote", "5;a=\"b\r\nhello\r\n", "bad-chunk-extension"},
        BadChunk{"ext_after_quote", "5;a=\"b\"c\r\nhello\r\n", "bad-chunk-extension"},
        BadChunk{"ext_ctl", "5;a\x01\r\nhello\r\n", "bad-chunk-extension"},
        BadChunk{"ext_too_long", "5;a=" + std::string(5000, 'b') + "\r\n", "bad-chunk-extension"},
        BadChunk{"data_too_long", "5\r\nhello!\r\n", "bad-chunk"},
        BadChunk{"data_bare_lf", "5\r\nhello\n0\r\n\r\n", "bad-chunk"},
        BadChunk{"data_bad_lf", "5\r\nhello\rX", "bad-chunk"},
        BadChunk{"trailer_obs_fold", "0\r\nA: 1\r\n 2\r\n\r\n", "bad-trailer"},
        BadChunk{"trailer_space_before_colon", "0\r\nA : 1\r\n\r\n", "bad-trailer"},
        BadChunk{"trailer_no_colon", "0\r\nA\r\n\r\n", "bad-trailer"},
        BadChunk{"trailer_ctl", "0\r\nA: \x7f\r\n\r\n", "bad-trailer"},
        BadChunk{"trailer_bare_lf", "0\r\nA: 1\n\r\n", "bare-lf"},
        BadChunk{"final_bare_lf", "0\r\n\n", "bare-lf"},
        BadChunk{"final_bare_cr", "0\r\n\rX", "bare-cr"},
        BadChunk{"too_many_trailers", "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", "too-many-headers"},
        BadChunk{"trailers_too_large", "0\r\nA: " + std::string(80, 'a') + "\r\n\r\n",
                 "header-too-large"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(BodyTest, ResetReusesTheScanner) {
  BodyScanner s(framed(Framing::chunked));
  size_t consumed = 0;
  ASSERT_EQ(s.feed("x\r\n", consumed), Status::error);
  s.reset(framed(Framing::chunked));
  EXPECT_EQ(s.feed("0\r\n\r\n", consumed), Status::done);
  EXPECT_EQ(consumed, 5u);
}

}  // namespace
}  // namespace sluice::proxy::http
