// One access log entry: what a worker knows about one HTTP request or one TCP
// connection when it ends. Fixed size and trivially copyable, so handing it to
// the writer thread is a memcpy into a ring slot: no heap, no pointers into
// memory the worker will reuse. A worker fills its own record; after try_push
// the ring holds a copy, so the record may be reused at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace sluice::access_log {

// A bounded string stored inline. `truncated` is set when `set` had to cut.
template <size_t N>
struct FixedText {
  static_assert(N > 0 && N <= 65535);
  using Length = std::conditional_t<(N < 256), uint8_t, uint16_t>;

  Length len = 0;
  bool truncated = false;
  char data[N];  // only the first `len` bytes are meaningful

  std::string_view view() const noexcept { return {data, len}; }
  bool empty() const noexcept { return len == 0; }
};

// Copies at most N bytes. A cut never splits a UTF-8 sequence of a well-formed
// string, so a truncated path stays readable (the formatter repairs anything
// that was malformed to begin with).
template <size_t N>
void set(FixedText<N>& field, std::string_view value) noexcept {
  size_t n = value.size();
  field.truncated = n > N;
  if (field.truncated) {
    n = N;
    // value[n] is the first byte left out; if it continues a sequence, the
    // sequence started within the kept bytes and must go too (at most 3 bytes).
    for (int back = 0; back < 3 && n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80;
         ++back) {
      --n;
    }
  }
  // An empty view may have a null data(): memcpy from null is undefined even for 0 bytes.
  if (n != 0) std::memcpy(field.data, value.data(), n);
  field.len = static_cast<typename FixedText<N>::Length>(n);
}

enum class Kind : uint8_t { http, tcp };
// queued: admitted by every limit, after waiting in a shaping (leaky_bucket) limit's queue.
enum class LimitOutcome : uint8_t { none, admitted, limited, queued };
enum class BreakerOutcome : uint8_t { none, allowed, probe, rejected };

std::string_view to_string(Kind kind) noexcept;
std::string_view to_string(LimitOutcome outcome) noexcept;
std::string_view to_string(BreakerOutcome outcome) noexcept;

// Filled by one worker thread; read by the writer thread after the ring handoff.
// Default construction leaves the text bytes uninitialized (only `len` counts),
// so a worker pays for the fields it sets, not for 1 KiB of zeroes.
struct AccessRecord {
  static constexpr size_t kPathMax = 512;

  int64_t start_unix_ns = 0;          // when the request/connection started (CLOCK_REALTIME)
  int64_t duration_ns = 0;            // total, start to last byte to the client
  int64_t upstream_duration_ns = -1;  // negative: no upstream exchange took place
  int64_t limit_delay_ns = 0;         // rate_limit queued: how long it was to wait
  uint64_t bytes_received = 0;        // from the client
  uint64_t bytes_sent = 0;            // to the client
  int32_t status = 0;                 // HTTP status; tcp: 0 or a result code
  int16_t upstream_status = 0;        // the last attempt's response status; 0: none
  uint8_t http_version = 0;           // 10 or 11; 0: no request line was read (or tcp)
  Kind kind = Kind::http;
  LimitOutcome rate_limit = LimitOutcome::none;
  BreakerOutcome breaker = BreakerOutcome::none;

  FixedText<64> client;  // "ip:port", "[v6]:port"
  FixedText<64> listener;
  FixedText<64> route;  // http only
  FixedText<64> cluster;
  FixedText<64> endpoint;
  FixedText<16> method;       // http only
  FixedText<kPathMax> path;   // http only; raw request target
  FixedText<128> host;        // http only; the Host header (authority) as received
  FixedText<160> user_agent;  // http only
  FixedText<64> request_id;
  FixedText<40> error;  // e.g. the x-sluice-error token; empty: none
  // The client's TLS, when the listener terminates it; tls_version empty: plaintext.
  FixedText<16> tls_version;  // "TLSv1.3"
  FixedText<48> tls_cipher;   // OpenSSL's name, "TLS_AES_128_GCM_SHA256"
  FixedText<96> tls_sni;      // the server name the client asked for
  FixedText<24> fallback;     // http only: why a route's fallback answered; empty: it did not
  // rate_limit limited: the limit that refused; queued: the one that held the request longest.
  FixedText<64> limit_name;
};

static_assert(std::is_trivially_copyable_v<AccessRecord>);
// A ring slot each: 4096 per worker by default (6.5 MiB), touched only as the ring fills.
// TLS, fallback and limit fields took it past 1.5 KiB.
static_assert(sizeof(AccessRecord) <= 1664);

}  // namespace sluice::access_log
