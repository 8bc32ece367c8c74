// libFuzzer target for the header value templates of header rules (config/value_template)
// and the CIDR ranges of access rules (config/cidr), from any bytes. Never a crash; a
// template that parses writes back to exactly its text (literals with '%' as %%, variables
// as %{name}) and holds no byte a header value cannot; a range that parses has no host bits
// past its prefix.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/cidr.hpp"
#include "config/value_template.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

std::string_view name_of(sluice::config::TemplateVariable v) {
  using V = sluice::config::TemplateVariable;
  for (std::string_view n : {"client_ip", "request_id", "host", "tls_sni", "tls_version",
                             "tls_cipher", "tls_alpn", "tls_client_subject"})
    if (sluice::config::template_variable(n) == v) return n;
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = sluice::config::parse_value_template(text);
  check(t.value.has_value() != !t.error.empty());
  if (t) {
    std::string back;
    for (const auto& part : t.value->parts) {
      if (part.variable) {
        back += "%{";
        back += name_of(*part.variable);
        back += "}";
        continue;
      }
      check(!part.literal.empty());
      for (char c : part.literal) {
        const auto u = static_cast<unsigned char>(c);
        check(u == '\t' || (u >= 0x20 && u != 0x7f));
        back += c == '%' ? "%%" : std::string(1, c);
      }
    }
    check(back == text);
  }
  auto cidr = sluice::config::parse_cidr(text);
  if (cidr) {
    const auto& c = *cidr.value;
    const int max = c.family == AF_INET ? 32 : 128;
    check(c.prefix <= max);
    for (int bit = c.prefix; bit < 128; ++bit)
      check(!(c.bytes[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8))));
  }
  return 0;
}
