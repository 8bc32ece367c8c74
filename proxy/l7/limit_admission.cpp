#include "proxy/l7/limit_admission.hpp"

#include "proxy/l7/request_key.hpp"

namespace sluice::proxy {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

int64_t whole_seconds_up(int64_t ns) {
  return (ns + kSecond - 1) / kSecond;
}

// `"name";r=remaining;t=seconds-to-reset`: one item of the RateLimit field.
void append_item(std::string& out, const RateLimitRuntime& limit, const limiter::Decision& d) {
  out += '"';
  out += limit.config->name;
  out += "\";r=";
  out += std::to_string(d.remaining);
  out += ";t=";
  out += std::to_string(whole_seconds_up(d.reset));
}

metrics::RateLimitCounters& counters(const RateLimitRuntime& limit, unsigned worker) {
  return limit.stats->per_worker.at(worker);
}

}  // namespace

LimitAdmission::Verdict LimitAdmission::decide(std::span<const RateLimitRuntime* const> limits,
                                               const http::Head& head, std::string_view client_ip,
                                               uint64_t route_key, unsigned worker, int64_t now) {
  granted_.clear();
  waiting_ = false;
  Verdict verdict;
  for (const RateLimitRuntime* limit : limits) {
    const uint64_t key = request_limit_key(*limit->config, head, client_ip, route_key);
    const limiter::Decision d = limit->admit(key, worker, now);
    if (!d.admitted) {
      give_back(now);
      granted_.clear();
      return {Outcome::refused, limit, d};
    }
    granted_.push_back({limit, key, d});
    if (d.delay > verdict.decision.delay) verdict = {Outcome::queued, limit, d};
  }
  if (verdict.outcome == Outcome::queued) {
    waiting_ = true;
    queued_at_ = now;
    for (const Granted& g : granted_)
      if (g.decision.delay > 0) {
        counters(*g.limit, worker).queued.add();
        counters(*g.limit, worker).waiting.add();
      }
  }
  return verdict;
}

void LimitAdmission::release(unsigned worker, int64_t now) {
  if (!waiting_) return;
  waiting_ = false;
  for (const Granted& g : granted_)
    if (g.decision.delay > 0) {
      counters(*g.limit, worker).waiting.sub();
      counters(*g.limit, worker).delay.observe_ns(now - queued_at_);
    }
}

void LimitAdmission::abandon(unsigned worker, int64_t now) {
  if (!waiting_) return;
  waiting_ = false;
  for (const Granted& g : granted_)
    if (g.decision.delay > 0) {
      counters(*g.limit, worker).waiting.sub();
      counters(*g.limit, worker).abandoned.add();
    }
  give_back(now);
  granted_.clear();
}

void LimitAdmission::give_back(int64_t now) {
  for (const Granted& g : granted_) g.limit->refund(g.key, now);
}

void LimitAdmission::append_admitted_headers(std::string& out) const {
  bool any = false;
  for (const Granted& g : granted_) any |= g.limit->config->headers_always;
  if (!any) return;
  std::string items;
  out += "RateLimit-Policy: ";
  bool first = true;
  for (const Granted& g : granted_) {
    if (!g.limit->config->headers_always) continue;
    if (!first) {
      out += ", ";
      items += ", ";
    }
    first = false;
    out += g.limit->policy;
    append_item(items, *g.limit, g.decision);
  }
  out += "\r\nRateLimit: ";
  out += items;
  out += "\r\n";
}

std::string LimitAdmission::refusal_headers(const Verdict& verdict) {
  const limiter::Decision& d = verdict.decision;
  // Never conforms (a cost above the limit): an hour, a polite "not soon".
  const int64_t retry_s = d.retry_after < 0 ? 3600 : whole_seconds_up(d.retry_after);
  std::string out = "Retry-After: " + std::to_string(retry_s) +
                    "\r\nRateLimit-Policy: " + verdict.by->policy + "\r\nRateLimit: ";
  append_item(out, *verdict.by, d);
  out += "\r\n";
  return out;
}

}  // namespace sluice::proxy
