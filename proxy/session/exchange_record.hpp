// What one exchange leaves in the access log: an HTTP request and its
// response, or a whole TCP relay. Both protocols fill the same fields here and
// push the record the same way. Worker thread only; pushing never waits.
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/access_log/record.hpp"
#include "proxy/access_log/ring.hpp"

namespace sluice::proxy {

struct ExchangeRecord {
  int64_t start_ns = 0;       // monotonic
  int64_t upstream_ns = -1;   // last attempt: dispatch to response head (HTTP), connect (TCP)
  int status = 0;             // of the response to the client; 0: none (yet)
  int upstream_status = 0;    // of the last attempt's response head; 0: none
  int http_version = 0;       // of the request line; 0: none read
  std::string_view error;     // why it ended early (the x-sluice-error code); empty: it did not
  std::string_view fallback;  // why a route's fallback answered; empty: it did not
  access_log::LimitOutcome limit = access_log::LimitOutcome::none;
  std::string_view limit_name;  // the limit that refused or queued; a config name (outlives it)
  int64_t limit_delay_ns = 0;   // queued: the wait it was given
  access_log::BreakerOutcome breaker = access_log::BreakerOutcome::none;
};

// The texts of one record, views valid for the push.
struct RecordText {
  std::string_view client, listener, route, cluster, endpoint, method, path, request_id;
  std::string_view host, user_agent;
  std::string_view tls_sni, tls_version, tls_cipher;  // empty: not TLS
};

// Pushes the record of an exchange that started at `record.start_ns` and ended at
// `end_ns` (monotonic; the caller's clock read, shared with its metrics).
// `bytes_received`/`bytes_sent` are the client side's.
void push_record(access_log::RecordRing& ring, access_log::Kind kind, const ExchangeRecord& record,
                 const RecordText& text, uint64_t bytes_received, uint64_t bytes_sent,
                 int64_t end_ns);

}  // namespace sluice::proxy
