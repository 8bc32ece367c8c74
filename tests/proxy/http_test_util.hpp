// Helpers for the codec tests: feed a parser or scanner in every way the network
// could split the bytes, and check the result does not depend on the split.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "proxy/l7/h1/body_scanner.hpp"
#include "proxy/l7/h1/head_parser.hpp"

namespace sluice::proxy::http::test {

struct FeedResult {
  Status status = Status::need_more;
  size_t end = 0;  // offset in the input where the head/body ended (done)
  Error error;
};

// Feeds input[0, split) then input[split, end) (split == npos: whole), or, with
// step > 0, pieces of `step` bytes. Stops at done/error.
template <class Parser>
FeedResult feed_pieces(Parser& p, std::string_view input, size_t step, size_t split = 0) {
  FeedResult r;
  size_t offset = 0;
  auto piece_len = [&](size_t at) {
    if (step) return std::min(step, input.size() - at);
    if (at < split) return split - at;
    return input.size() - at;
  };
  while (true) {
    const size_t len = offset < input.size() ? piece_len(offset) : 0;
    size_t consumed = 0;
    r.status = p.feed(input.substr(offset, len), consumed);
    if (r.status == Status::done) {
      r.end = offset + consumed;
      return r;
    }
    if (r.status == Status::error) {
      r.error = p.error();
      return r;
    }
    EXPECT_EQ(consumed, len) << "need_more must take all the input";
    offset += len;
    if (offset >= input.size()) return r;
  }
}

inline std::string describe(const FeedResult& r) {
  std::string s = r.status == Status::done ? "done" : r.status == Status::error ? "error" : "more";
  if (r.status == Status::error)
    s += " " + std::to_string(r.error.status) + " " + std::string(r.error.code);
  if (r.status == Status::done) s += " at " + std::to_string(r.end);
  return s;
}

// Runs `make()`-fresh parsers over the whole input, byte by byte and every
// two-way split; all must agree. Returns the whole-input result.
template <class Make>
FeedResult feed_every_way(Make make, std::string_view input) {
  auto whole = make();
  const FeedResult expected = feed_pieces(whole, input, 0, input.size());
  {
    auto p = make();
    const FeedResult r = feed_pieces(p, input, 1);
    EXPECT_EQ(describe(r), describe(expected)) << "byte by byte";
  }
  for (size_t split = 1; split < input.size(); ++split) {
    auto p = make();
    const FeedResult r = feed_pieces(p, input, 0, split);
    EXPECT_EQ(describe(r), describe(expected)) << "split at " << split;
    if (describe(r) != describe(expected)) break;
  }
  return expected;
}

inline FeedResult parse_request(std::string_view input, const Limits& limits = {},
                                const RequestOptions& options = {}) {
  return feed_every_way([&] { return HeadParser::request(limits, options); }, input);
}

inline FeedResult parse_response(std::string_view input, std::string_view method = "GET",
                                 const Limits& limits = {}) {
  return feed_every_way([&] { return HeadParser::response(limits, method); }, input);
}

}  // namespace sluice::proxy::http::test
