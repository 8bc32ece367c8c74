// The rate limits of one HTTP request — its listener's, then its route's; every one must admit —
// decided at one instant, and what the request took from each, so that it can be given back:
// when a later limit refuses (as nginx's limit_req does, an earlier limit is not charged for a
// request that was refused), and when a request queued by a shaping limit is abandoned by its
// client before it left. It also writes the RateLimit headers (IETF httpapi draft, structured
// fields) of a refusal, and of an admission for limits with `headers: always`.
//
// Worker thread only; one per Exchange, reused across its requests (no allocation once warm).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "limiter/decision.hpp"
#include "proxy/l7/h1/message.hpp"
#include "proxy/session/rate_limit.hpp"

namespace sluice::proxy {

class LimitAdmission {
 public:
  enum class Outcome { admitted, queued, refused };
  struct Verdict {
    Outcome outcome = Outcome::admitted;
    // Refused: the limit that refused. Queued: the one that holds the request longest.
    const RateLimitRuntime* by = nullptr;
    limiter::Decision decision;  // by's
  };

  // Asks every limit in order at `now` (monotonic ns), stopping at the first refusal; what the
  // earlier ones granted is then given back. Queued: the longest delay any limit asked for
  // (each limit's slot is at or before it, so none is exceeded).
  Verdict decide(std::span<const RateLimitRuntime* const> limits, const http::Head& head,
                 std::string_view client_ip, uint64_t route_key, unsigned worker, int64_t now);
  // The queued request leaves (at `now`): its wait is counted.
  void release(unsigned worker, int64_t now);
  // The queued request will never leave (its client went away): every limit gets back what it
  // granted, so the slot it held in a queue is free for the next request.
  void abandon(unsigned worker, int64_t now);
  bool waiting() const { return waiting_; }

  // Appends "RateLimit-Policy: ...\r\nRateLimit: ...\r\n" for the limits that admitted the
  // request and want their headers on every response; nothing when none does.
  void append_admitted_headers(std::string& out) const;
  // The headers of a 429 from `verdict`: Retry-After (whole seconds, rounded up so a client that
  // obeys it is admitted), RateLimit-Policy and RateLimit of the limit that refused.
  static std::string refusal_headers(const Verdict& verdict);

 private:
  struct Granted {
    const RateLimitRuntime* limit;
    uint64_t key;
    limiter::Decision decision;
  };
  void give_back(int64_t now);

  std::vector<Granted> granted_;
  int64_t queued_at_ = 0;
  bool waiting_ = false;
};

}  // namespace sluice::proxy
