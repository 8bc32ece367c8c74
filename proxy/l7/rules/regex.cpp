#include "proxy/l7/rules/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

namespace sluice::proxy::rules {
namespace {

// Capture groups a pattern may have: the per-thread match data holds this many pairs, so a
// match never allocates.
constexpr uint32_t kMaxGroups = 64;

pcre2_match_data* thread_match_data() {
  struct Holder {
    pcre2_match_data* data = pcre2_match_data_create(kMaxGroups + 1, nullptr);
    ~Holder() { pcre2_match_data_free(data); }
  };
  thread_local Holder holder;
  return holder.data;
}

pcre2_code* code_of(void* code) {
  return static_cast<pcre2_code*>(code);
}

}  // namespace

std::unique_ptr<Regex> Regex::compile(std::string_view pattern, bool whole, std::string& error) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options = whole ? PCRE2_ANCHORED | PCRE2_ENDANCHORED : 0;
  pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                       options, &code, &offset, nullptr);
  if (compiled == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code, message, sizeof message);
    error = reinterpret_cast<const char*>(message);
    return nullptr;
  }
  uint32_t groups = 0;
  pcre2_pattern_info(compiled, PCRE2_INFO_CAPTURECOUNT, &groups);
  if (groups > kMaxGroups) {
    pcre2_code_free(compiled);
    error = "more than " + std::to_string(kMaxGroups) + " capture groups";
    return nullptr;
  }
  // Without JIT (a kernel or policy refusing executable memory) PCRE2's interpreter still works.
  pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  return std::unique_ptr<Regex>(new Regex(compiled));
}

Regex::~Regex() {
  pcre2_code_free(code_of(code_));
}

bool Regex::matches(std::string_view subject) const {
  return pcre2_match(code_of(code_), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                     0, 0, thread_match_data(), nullptr) >= 0;
}

bool Regex::replace(std::string_view subject, std::string_view substitution,
                    std::string& out) const {
  constexpr uint32_t kOptions = PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH;
  out.resize(std::max(out.capacity(), subject.size() + substitution.size() + 16));
  for (int round = 0; round < 2; ++round) {
    PCRE2_SIZE length = out.size();
    const int rc = pcre2_substitute(
        code_of(code_), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, kOptions,
        thread_match_data(), nullptr, reinterpret_cast<PCRE2_SPTR>(substitution.data()),
        substitution.size(), reinterpret_cast<PCRE2_UCHAR*>(out.data()), &length);
    if (rc == PCRE2_ERROR_NOMEMORY) {
      out.resize(length);  // PCRE2 said how long the result is
      continue;
    }
    if (rc <= 0) return false;
    out.resize(length);
    return true;
  }
  return false;
}

}  // namespace sluice::proxy::rules
