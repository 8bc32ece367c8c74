// A compiled PCRE2 pattern with its JIT code: path_regex matches and regex rewrites. PCRE2's
// JIT matches a path in tens of nanoseconds where std::regex takes microseconds
// (bench/regex_bench.cpp). Compiled on the control thread; matched by any worker at once:
// the mutable match data is per thread, so a match allocates nothing.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace sluice::proxy::rules {

class Regex {
 public:
  // `whole`: the pattern must match the whole subject (anchored at both ends). Null, with
  // PCRE2's reason in `error`, when the pattern does not compile.
  static std::unique_ptr<Regex> compile(std::string_view pattern, bool whole, std::string& error);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  bool matches(std::string_view subject) const;
  // `subject` with every match replaced by `substitution` ($1, ${name}, $$) into `out`
  // (whose capacity is reused). False when nothing matched or PCRE2 failed; `out` is then
  // unspecified.
  bool replace(std::string_view subject, std::string_view substitution, std::string& out) const;

 private:
  explicit Regex(void* code) : code_(code) {}
  void* code_;  // pcre2_code_8, kept out of this header
};

}  // namespace sluice::proxy::rules
