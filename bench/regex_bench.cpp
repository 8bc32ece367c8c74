// Which regex engine path_regex and regex rewrites use: std::regex (libstdc++) against
// PCRE2 (interpreted and JIT, rules::Regex) and RE2, matching and rewriting a typical path.
#include <benchmark/benchmark.h>
#include <re2/re2.h>

#include <regex>
#include <string>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "proxy/l7/rules/regex.hpp"

namespace {

const std::string kPattern = "/api/v[0-9]+/users/([0-9]+)/posts/([a-z0-9-]+)";
const std::string kPath = "/api/v2/users/12345/posts/hello-world-2026";
const std::string kMiss = "/api/v2/users/12345/comments/hello-world-2026";

void BM_StdRegexMatch(benchmark::State& state) {
  const std::regex re(kPattern);
  for (auto _ : state) {
    benchmark::DoNotOptimize(std::regex_match(kPath, re));
    benchmark::DoNotOptimize(std::regex_match(kMiss, re));
  }
}
BENCHMARK(BM_StdRegexMatch);

void BM_Pcre2JitMatch(benchmark::State& state) {
  std::string error;
  auto re = sluice::proxy::rules::Regex::compile(kPattern, true, error);
  for (auto _ : state) {
    benchmark::DoNotOptimize(re->matches(kPath));
    benchmark::DoNotOptimize(re->matches(kMiss));
  }
}
BENCHMARK(BM_Pcre2JitMatch);

void BM_Pcre2InterpretedMatch(benchmark::State& state) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern.data()), kPattern.size(),
                                 PCRE2_ANCHORED | PCRE2_ENDANCHORED, &code, &offset, nullptr);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(re, nullptr);
  for (auto _ : state) {
    benchmark::DoNotOptimize(pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(kPath.data()),
                                         kPath.size(), 0, 0, md, nullptr));
    benchmark::DoNotOptimize(pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(kMiss.data()),
                                         kMiss.size(), 0, 0, md, nullptr));
  }
  pcre2_match_data_free(md);
  pcre2_code_free(re);
}
BENCHMARK(BM_Pcre2InterpretedMatch);

void BM_Re2Match(benchmark::State& state) {
  const re2::RE2 re(kPattern);
  for (auto _ : state) {
    benchmark::DoNotOptimize(re2::RE2::FullMatch(kPath, re));
    benchmark::DoNotOptimize(re2::RE2::FullMatch(kMiss, re));
  }
}
BENCHMARK(BM_Re2Match);

const std::string kRewrite = "^/api/v[0-9]+/users/([0-9]+)/posts/(.*)$";

void BM_StdRegexRewrite(benchmark::State& state) {
  const std::regex re(kRewrite);
  std::string out;
  for (auto _ : state) {
    out = std::regex_replace(kPath, re, "/u/$1/p/$2");
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_StdRegexRewrite);

void BM_Pcre2JitRewrite(benchmark::State& state) {
  std::string error, out;
  auto re = sluice::proxy::rules::Regex::compile(kRewrite, false, error);
  for (auto _ : state) {
    benchmark::DoNotOptimize(re->replace(kPath, "/u/$1/p/$2", out));
  }
}
BENCHMARK(BM_Pcre2JitRewrite);

void BM_Re2Rewrite(benchmark::State& state) {
  const re2::RE2 re(kRewrite);
  std::string out;
  for (auto _ : state) {
    out = kPath;
    benchmark::DoNotOptimize(re2::RE2::GlobalReplace(&out, re, "/u/\\1/p/\\2"));
  }
}
BENCHMARK(BM_Re2Rewrite);

}  // namespace

BENCHMARK_MAIN();
