#include "proxy/session/rate_limit.hpp"

#include "balancers/key_hash.hpp"
#include "proxy/core/clock.hpp"

namespace sluice::proxy {

limiter::Decision RateLimitRuntime::admit(uint64_t key, unsigned worker) const {
  return admit(key, worker, clock::monotonic_ns());
}

void RateLimitRuntime::refund(uint64_t key, int64_t now) const {
  if (local) local->refund(key, now);
}

limiter::Decision RateLimitRuntime::admit(uint64_t key, unsigned worker, int64_t now) const {
  const limiter::Decision d = local ? local->admit(key, now) : global->admit(key, now);
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

uint64_t combine_limit_keys(uint64_t so_far, uint64_t part) {
  return balancers::fmix64(so_far * 0x9e3779b97f4a7c15ULL ^ part);
}

uint64_t connection_key(std::string_view client_ip) {
  return balancers::hash_key(client_ip);
}

}  // namespace sluice::proxy
