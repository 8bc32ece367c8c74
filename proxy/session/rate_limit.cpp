#include "proxy/session/rate_limit.hpp"

#include "balancers/key_hash.hpp"
#include "proxy/core/clock.hpp"

namespace sluice::proxy {

limiter::Decision RateLimitRuntime::admit(uint64_t key, unsigned worker) const {
  const int64_t now = clock::monotonic_ns();
  const limiter::Decision d = local ? local->admit(key, now) : global->admit(now);
  metrics::RateLimitCounters& counters = stats->per_worker.at(worker);
  (d.admitted ? counters.admitted : counters.limited).add();
  if (d.by_on_error) [[unlikely]]
    (d.admitted ? counters.on_error_admitted : counters.on_error_limited).add();
  return d;
}

uint64_t limit_key(const config::RateLimitKey& key, std::string_view header_value,
                   std::string_view client_ip, uint64_t route_key) {
  using Source = config::RateLimitKey::Source;
  switch (key.source) {
    case Source::client_ip:
      return balancers::hash_key(client_ip);
    case Source::route:
      return route_key;
    case Source::global:
      return 0;
    case Source::header:
      return balancers::hash_key(header_value);
  }
  return 0;
}

uint64_t connection_key(std::string_view client_ip) {
  return balancers::hash_key(client_ip);
}

}  // namespace sluice::proxy
