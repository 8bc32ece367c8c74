// What one request (L7) or relay (L4) tells its cluster's circuit breaker and
// outlier detector (passive health). Owned by one session on a worker thread.
#pragma once

#include <cstdint>

#include "limiter/circuit_breaker.hpp"
#include "proxy/upstream/cluster.hpp"

namespace sluice::proxy {

// Holds a breaker permit from admission until the outcome is known; a request
// that ends without one (the client left) hands the permit back unjudged.
class BreakerTicket {
 public:
  BreakerTicket() = default;
  BreakerTicket(const BreakerTicket&) = delete;
  BreakerTicket& operator=(const BreakerTicket&) = delete;
  ~BreakerTicket() { cancel(); }

  // False when the breaker is open: answer without touching the cluster.
  bool begin(const ClusterRuntime& cluster, limiter::Nanos now) {
    cancel();
    breaker_ = cluster.breaker.get();
    if (breaker_ == nullptr) return true;
    permit_ = breaker_->allow(now);
    if (limiter::admitted(permit_)) return true;
    breaker_ = nullptr;
    return false;
  }
  void succeeded(limiter::Nanos now) {
    if (breaker_ != nullptr) breaker_->on_success(now, permit_);
    breaker_ = nullptr;
  }
  void failed(limiter::Nanos now) {
    if (breaker_ != nullptr) breaker_->on_failure(now, permit_);
    breaker_ = nullptr;
  }
  void cancel() {
    if (breaker_ != nullptr) breaker_->on_cancel(permit_);
    breaker_ = nullptr;
  }

 private:
  limiter::CircuitBreaker* breaker_ = nullptr;
  limiter::BreakerPermit permit_ = limiter::BreakerPermit::denied;
};

// Passive health: what an endpoint just did, for outlier ejection.
enum class EndpointResult { ok, server_error, connect_failure };

inline void report_endpoint(const ClusterRuntime& cluster, uint32_t endpoint, EndpointResult result,
                            limiter::Nanos now) {
  limiter::OutlierDetector* d = cluster.outliers.get();
  if (d == nullptr) return;
  switch (result) {
    case EndpointResult::ok:
      d->on_success(endpoint);
      break;
    case EndpointResult::server_error:
      d->on_5xx(endpoint, now);
      break;
    case EndpointResult::connect_failure:
      d->on_connect_failure(endpoint, now);
      break;
  }
}

}  // namespace sluice::proxy
