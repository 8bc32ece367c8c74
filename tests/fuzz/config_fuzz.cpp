// libFuzzer target for the config parser: any bytes must produce a result, never a crash, a
// hang or an exception, and what it says must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "config/parse.hpp"
#include "config/scalars.hpp"

using namespace sluice::config;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// A fixed environment, so a finding reproduces anywhere: ${FUZZ_PORT}, ${FUZZ_EMPTY} and
// ${FUZZ_TEXT} are set (the last to something YAML would choke on), everything else is unset.
std::optional<std::string> fuzz_environment(const std::string& name) {
  if (name == "FUZZ_PORT") return "8080";
  if (name == "FUZZ_EMPTY") return "";
  if (name == "FUZZ_TEXT") return "a: [b, {c: \"${FUZZ_PORT}\"}] # $$";
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  // The scalar notations, on raw bytes.
  parse_duration(text);
  parse_rate(text);
  if (auto address = parse_address(text)) check(address.value->length > 0);
  parse_integer(text);
  parse_number(text);

  // No include_dir: `include:` is refused, so no input makes the fuzzer read a file.
  ParseOptions options;
  options.env = fuzz_environment;
  ParseResult result = parse_config_text(text, "fuzz.yaml", options);
  for (const Diagnostic& d : result.errors) {
    check(!d.message.empty());
    check(d.line >= 0 && d.column >= 0);
    check(d.to_string().rfind("fuzz.yaml", 0) == 0);
  }
  for (size_t i = 1; i < result.errors.size(); ++i) {
    const Diagnostic& a = result.errors[i - 1];
    const Diagnostic& b = result.errors[i];
    check(a.line < b.line || (a.line == b.line && a.column <= b.column));  // file order
  }
  if (result.ok()) {
    // A valid config is complete: every reference resolves, every address is usable.
    const Config& c = result.config;
    check(!c.listeners.empty());
    for (const Listener& l : c.listeners) {
      check(l.listen.length > 0);
      if (l.protocol == Protocol::tcp) check(c.find_cluster(l.cluster) != nullptr);
      if (!l.rate_limit.empty()) check(c.find_rate_limit(l.rate_limit) != nullptr);
      // Exactly one of cluster, direct_response and redirect answers a route.
      for (const Route& r : l.routes)
        check(int{!r.cluster.empty()} + int{r.direct_response.has_value()} +
                      int{r.redirect.has_value()} ==
                  1 &&
              (r.cluster.empty() || c.find_cluster(r.cluster) != nullptr));
    }
    for (const Cluster& cluster : c.clusters)
      // A named endpoint ("api.internal:8080") is resolved at run time: a name and a port.
      for (const Endpoint& e : cluster.endpoints)
        check(e.weight >= 1 &&
              (e.named() ? e.port > 0 && !e.address.text.empty() : e.address.length > 0));
  }
  return 0;
}
