// The counters the request path increments. Each worker owns its own slot of
// every stats object (PerWorker), so an increment is a plain load and store on
// a cache line no other core writes: no shared atomic read-modify-write per
// request. The scraper (control thread) reads the slots with relaxed loads and
// sums them; a value may be one increment behind, never torn.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace sluice::proxy::metrics {

// Written by one worker thread only; read by any.
class Counter {
 public:
  void add(uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Up and down, written by one worker thread only. Summed across workers, the
// per-worker values may be negative (a connection counted up on one snapshot's
// slot and down on another never happens: both use the same stats object).
class Gauge {
 public:
  void add(int64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(int64_t n = 1) noexcept { add(-n); }
  int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Status classes 1xx..5xx as indexes 0..4 (anything else counts as 5xx).
constexpr size_t kCodeClasses = 5;
constexpr const char* kCodeClassNames[kCodeClasses] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr size_t code_class_index(int status) noexcept {
  return status >= 100 && status < 600 ? static_cast<size_t>(status / 100 - 1) : 4;
}

// Upstream request durations. Bounds are in seconds for exposition; the
// request path compares nanoseconds.
constexpr size_t kLatencyBuckets = 14;
constexpr int64_t kLatencyBoundsNs[kLatencyBuckets] = {
    500'000,       1'000'000,     2'500'000,     5'000'000,     10'000'000,
    25'000'000,    50'000'000,    100'000'000,   250'000'000,   500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

struct LatencyHistogram {
  Counter buckets[kLatencyBuckets + 1];  // non-cumulative; the last is +Inf
  Counter sum_ns;
  void observe_ns(int64_t ns) noexcept {
    size_t i = 0;
    while (i < kLatencyBuckets && ns > kLatencyBoundsNs[i]) ++i;
    buckets[i].add();
    sum_ns.add(ns > 0 ? static_cast<uint64_t>(ns) : 0);
  }
};

// One slot per worker, each on its own cache lines.
template <class Slot>
class PerWorker {
 public:
  explicit PerWorker(unsigned workers) : count_(workers), slots_(new Padded[workers]) {}
  Slot& at(unsigned worker) noexcept { return slots_[worker].slot; }
  const Slot& at(unsigned worker) const noexcept { return slots_[worker].slot; }
  unsigned size() const noexcept { return count_; }

 private:
  struct alignas(64) Padded {
    Slot slot;
  };
  unsigned count_;
  std::unique_ptr<Padded[]> slots_;
};

// Downstream side of one listener.
// Why a TLS handshake failed, as a bounded label. "closed": the peer left (or sent a FIN)
// before finishing; "not-tls": what arrived was no TLS record (plain HTTP on a TLS port);
// "verify": an upstream's certificate did not verify (chain or name; upstream side only).
// Upstream side, "client-certificate" is the endpoint refusing sluice's own certificate.
constexpr size_t kTlsFailureReasons = 9;
constexpr const char* kTlsFailureReasonNames[kTlsFailureReasons] = {"timeout",
                                                                    "closed",
                                                                    "unknown-sni",
                                                                    "protocol-version",
                                                                    "no-shared-cipher",
                                                                    "client-certificate",
                                                                    "not-tls",
                                                                    "other",
                                                                    "verify"};
enum class TlsFailure : uint8_t {
  timeout,
  closed,
  unknown_sni,
  protocol_version,
  no_shared_cipher,
  client_certificate,
  not_tls,
  other,
  verify
};

struct TlsCounters {
  Counter handshakes;  // completed, resumed ones included
  Counter resumed;     // completed by resuming a session (ticket or cache)
  Counter failures[kTlsFailureReasons];
  void failed(TlsFailure reason) { failures[static_cast<size_t>(reason)].add(); }
};
// Why a listener that requires a PROXY protocol header closed a connection before any
// session saw it (ListenerCounters::proxy_refusals).
enum class ProxyRefusal : uint8_t { untrusted, timeout, malformed };
constexpr size_t kProxyRefusals = 3;
constexpr const char* kProxyRefusalNames[kProxyRefusals] = {"untrusted", "timeout", "malformed"};

// Where access control refused a request with 403 (ListenerCounters::access_denied).
enum class AccessScope : uint8_t { listener, route };
constexpr size_t kAccessScopes = 2;
constexpr const char* kAccessScopeNames[kAccessScopes] = {"listener", "route"};

struct ListenerCounters {
  Counter connections;  // accepted
  Gauge active;
  Counter bytes_received;
  Counter bytes_sent;
  Counter timeouts;    // requests that timed out waiting for the client (408)
  Counter incomplete;  // responses cut short: the client connection was reset
  Counter refused;     // connections closed at accept: descriptors kept for upstreams
  Counter over_limit;  // connections closed at accept: max_connections reached
  TlsCounters tls;     // listeners with tls only
  Counter proxy_refusals[kProxyRefusals];  // closed before their PROXY header was accepted
  void refused_by(ProxyRefusal why) { proxy_refusals[static_cast<size_t>(why)].add(); }
  Counter access_denied[kAccessScopes];  // http: requests answered 403 by `access` rules
  void denied_by(AccessScope scope) { access_denied[static_cast<size_t>(scope)].add(); }
};

// Request methods as a bounded label: the registered ones people graph, and OTHER for
// anything else (extension methods, or none read from a malformed request), so a client
// cannot mint series.
constexpr size_t kMethods = 10;
constexpr const char* kMethodNames[kMethods] = {"GET",     "HEAD",    "POST",  "PUT",   "DELETE",
                                                "CONNECT", "OPTIONS", "TRACE", "PATCH", "OTHER"};
constexpr uint8_t kOtherMethod = kMethods - 1;
constexpr uint8_t method_index(std::string_view method) noexcept {
  for (uint8_t i = 0; i < kOtherMethod; ++i)
    if (method == kMethodNames[i]) return i;
  return kOtherMethod;
}

// Why a route's fallback answered (config::FallbackReason, in the same order; the metrics
// room sees no config).
constexpr size_t kFallbackReasons = 4;
constexpr const char* kFallbackReasonNames[kFallbackReasons] = {
    "circuit-open", "no-endpoint", "retries-exhausted", "cluster-limit"};

// HTTP responses sent for one (listener, route, cluster), by method and exact status, and
// how long they took. Statuses are whatever the endpoints send, so the exact pairs live in a
// small table filled in the order they are first seen; a route that meets more distinct
// pairs than it holds counts the rest by class (code "other"), keeping the series bounded.
struct RouteCounters {
  static constexpr size_t kPairs = 32;
  static constexpr uint32_t pair_key(uint8_t method, int status) noexcept {
    return uint32_t{method} << 16 | static_cast<uint32_t>(status < 0 || status > 999 ? 0 : status);
  }

  // Worker thread (the slot's owner). Publishes a new pair with a release store of `used`.
  void count(uint8_t method, int status) noexcept {
    const uint32_t key = pair_key(method, status);
    const uint32_t n = used.load(std::memory_order_relaxed);
    for (uint32_t i = 0; i < n; ++i) {
      if (keys[i] == key) {
        counts[i].add();
        return;
      }
    }
    if (n < kPairs) {
      keys[n] = key;
      counts[n].add();
      used.store(n + 1, std::memory_order_release);
      return;
    }
    overflow[method][code_class_index(status)].add();
  }

  // Any thread: responses counted in this slot, all of them or those of one status class.
  uint64_t responses() const noexcept {
    return responses_where([](size_t) { return true; });
  }
  uint64_t responses_in_class(size_t code_class) const noexcept {
    return responses_where([code_class](size_t c) { return c == code_class; });
  }
  template <class ClassFilter>
  uint64_t responses_where(ClassFilter wanted) const noexcept {
    uint64_t n = 0;
    const uint32_t used_now = used.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < used_now; ++i)
      if (wanted(code_class_index(static_cast<int>(keys[i] & 0xffff)))) n += counts[i].value();
    for (const auto& by_class : overflow)
      for (size_t c = 0; c < kCodeClasses; ++c)
        if (wanted(c)) n += by_class[c].value();
    return n;
  }

  // keys[i] is written once, before `used` makes it visible; readers load `used` (acquire).
  uint32_t keys[kPairs];
  Counter counts[kPairs];
  std::atomic<uint32_t> used{0};
  Counter overflow[kMethods][kCodeClasses];
  LatencyHistogram duration;            // request's first byte to its response's last byte sent
  Counter fallbacks[kFallbackReasons];  // responses a route's fallback served, by reason
};

// Upstream side of one cluster.
// The cluster caps of `limits:` that can refuse (ClusterCounters::cap_refusals).
enum class ClusterCap : uint8_t { max_connections, max_pending, max_requests };
constexpr size_t kClusterCaps = 3;
constexpr const char* kClusterCapNames[kClusterCaps] = {"max_connections", "max_pending",
                                                        "max_requests"};

struct ClusterCounters {
  Counter requests;                    // HTTP requests sent, or TCP connections relayed
  Counter responses[kCodeClasses];     // HTTP responses received, by class
  Counter connect_failures;            // failed or timed-out connects
  Counter retries;                     // further attempts after a failure
  Counter timeouts;                    // requests that hit their request timeout
  Gauge connections_active;            // open upstream connections (pooled ones too)
  Counter bytes_sent;                  // to the endpoints
  Counter bytes_received;              // from the endpoints
  LatencyHistogram duration;           // dispatch to response head (HTTP), connect time (TCP)
  Counter cap_refusals[kClusterCaps];  // requests/connections a cluster cap refused (503)
  Counter retries_over_budget;         // retries the cluster's retry_budget refused
  TlsCounters tls;                     // clusters with tls only: handshakes with the endpoints

  void refused_by(ClusterCap cap) { cap_refusals[static_cast<size_t>(cap)].add(); }
};

struct RateLimitCounters {
  Counter admitted;
  Counter limited;
  // Of those, decided by a global limit's on_error while Redis could not be asked.
  Counter on_error_admitted;  // failing open
  Counter on_error_limited;   // failing closed
  // Shaping (leaky_bucket): requests admitted to wait, waiting now on this worker, abandoned by
  // their client while waiting, and how long those that left waited.
  Counter queued;
  Gauge waiting;
  Counter abandoned;
  LatencyHistogram delay;
};

}  // namespace sluice::proxy::metrics
