// libFuzzer target for the PROXY protocol parser (proxy/proxy_protocol/): what a trusted load
// balancer, or anything that reaches a proxy_protocol listener, sends first. Never a crash or
// a read past the input; the verdict on every prefix is consistent with the whole (a prefix
// of a complete header asks for more; once malformed, more bytes never help; the header
// length fits the input and v1 never exceeds 107 bytes); and a complete header written back
// by the writer parses to the same addresses and TLVs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "proxy/proxy_protocol/parser.hpp"
#include "proxy/proxy_protocol/writer.hpp"

namespace pp = sluice::proxy::proxy_protocol;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pp::Header whole;
  const pp::Result result = pp::parse(bytes, whole);
  if (result.status == pp::Status::complete) {
    check(result.length > 0 && result.length <= bytes.size());
    if (whole.version == pp::Version::v1) check(result.length <= pp::kV1MaxLength);
    if (whole.version == pp::Version::v2) check(result.length <= pp::kV2MaxLength);
    // The header alone is complete too, with the same length.
    pp::Header alone;
    const pp::Result again = pp::parse(bytes.substr(0, result.length), alone);
    check(again.status == pp::Status::complete && again.length == result.length);
    // Written back (v2 carries the TLVs), it parses to the same client. (Its own CRC32C TLV
    // may take a header that was at the size bound over it.)
    pp::Header copy = whole;
    copy.local = false;
    const std::string written = pp::write(copy);
    if (written.size() <= pp::kV2MaxLength) {
      pp::Header back;
      const pp::Result reparsed = pp::parse(written, back);
      check(reparsed.status == pp::Status::complete && reparsed.length == written.size());
      check(!copy.has_address() || same_address(back.source, copy.source));
      if (copy.version == pp::Version::v2) {
        check(back.alpn == copy.alpn && back.authority == copy.authority);
        check(back.has_ssl == copy.has_ssl && back.ssl.cn == copy.ssl.cn);
        check(back.checksummed);
      }
    }
  } else {
    check(result.status == pp::Status::need_more || result.error != nullptr);
  }
  // Every prefix: a malformed verdict is final, and a prefix of a complete header is never
  // malformed (one byte more at a time, as a slow sender would deliver it).
  const size_t end = result.status == pp::Status::complete ? result.length : bytes.size();
  bool malformed = false;
  for (size_t n = 0; n < end; ++n) {
    pp::Header h;
    const pp::Status s = pp::parse(bytes.substr(0, n), h).status;
    if (malformed) check(s == pp::Status::malformed);
    if (s == pp::Status::malformed) malformed = true;
    if (result.status == pp::Status::complete) check(s != pp::Status::malformed);
  }
  if (malformed) check(result.status == pp::Status::malformed);
  return 0;
}
