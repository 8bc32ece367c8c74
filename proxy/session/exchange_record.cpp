#include "proxy/session/exchange_record.hpp"

#include "proxy/core/clock.hpp"

namespace sluice::proxy {

void push_record(access_log::RecordRing& ring, access_log::Kind kind, const ExchangeRecord& record,
                 const RecordText& text, uint64_t bytes_received, uint64_t bytes_sent,
                 int64_t end_ns) {
  access_log::AccessRecord r;
  r.kind = kind;
  r.duration_ns = end_ns - record.start_ns;
  r.start_unix_ns = clock::unix_ns() - r.duration_ns;
  r.upstream_duration_ns = record.upstream_ns;
  r.bytes_received = bytes_received;
  r.bytes_sent = bytes_sent;
  r.status = record.status;
  r.upstream_status = static_cast<int16_t>(record.upstream_status);
  r.http_version = static_cast<uint8_t>(record.http_version);
  r.rate_limit = record.limit;
  r.limit_delay_ns = record.limit_delay_ns;
  access_log::set(r.limit_name, record.limit_name);
  r.breaker = record.breaker;
  access_log::set(r.client, text.client);
  access_log::set(r.listener, text.listener);
  access_log::set(r.route, text.route);
  access_log::set(r.cluster, text.cluster);
  access_log::set(r.endpoint, text.endpoint);
  access_log::set(r.method, text.method);
  access_log::set(r.path, text.path);
  access_log::set(r.request_id, text.request_id);
  access_log::set(r.host, text.host);
  access_log::set(r.user_agent, text.user_agent);
  access_log::set(r.tls_version, text.tls_version);
  access_log::set(r.tls_cipher, text.tls_cipher);
  access_log::set(r.tls_sni, text.tls_sni);
  access_log::set(r.error, record.error);
  access_log::set(r.fallback, record.fallback);
  ring.try_push(r);
}

}  // namespace sluice::proxy
