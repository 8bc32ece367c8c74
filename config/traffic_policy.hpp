// The parts of the typed Config that decide where a request sticks and what happens when its
// cluster cannot answer: cookie stickiness, retry budgets and the circuit breaker (per
// cluster), retries with their back-off and deadline propagation (per listener and route),
// fallbacks (per route). Plain data, like config.hpp, which includes this; parsed by
// parse_policies.cpp (and parse_listeners.cpp, parse_clusters.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::config {

// clusters[].sticky_cookie: sluice names the endpoint that answered in a cookie of its own
// (HAProxy `cookie ... insert indirect`, nginx `sticky cookie`) and sends later requests that
// carry it to that endpoint while it is routable. The value is a keyed hash of the cluster's
// name and the endpoint's address, so it reveals neither and stays the same across reloads,
// discovery updates that keep the endpoint, restarts and instances that share `secret`.
struct StickyCookie {
  std::string name = "sluice_sticky";
  std::string path = "/";
  std::string domain;                                // empty: no Domain attribute (host-only)
  std::optional<std::chrono::milliseconds> max_age;  // absent: a session cookie
  bool http_only = true;
  bool secure = false;
  enum class SameSite { unset, lax, strict, none } same_site = SameSite::unset;
  std::string secret;  // HMAC key; empty: a fixed one (values can then be guessed from addresses)
};

// clusters[].retry_budget (Envoy's retry_budget, Finagle's RetryBudget): retries in flight stay
// within `ratio` of the requests in flight to the cluster, but `min_concurrency` are always
// allowed, so a quiet cluster can still retry. Beyond it a retry is refused and the failure
// stands (or the route's fallback answers).
struct RetryBudget {
  double ratio = 0.2;
  uint32_t min_concurrency = 3;
};

// retries.backoff: a retry waits a jittered delay first: the n-th retry waits a uniform random
// time in [step/2, step], step = min(max, base * 2^(n-1)). Absent: retries go at once.
struct RetryBackoff {
  std::chrono::milliseconds base{0};  // 0: off
  std::chrono::milliseconds max{0};
};

// `attempts` is how many further endpoints are tried after the first one fails,
// like HAProxy's `retries`; 0 turns retries off.
struct Retries {
  int attempts = 2;
  bool on_connect_failure = true;
  std::vector<int> on_status;  // HTTP statuses that are retried (idempotent methods only)
  RetryBackoff backoff;
};

struct CircuitBreaker {
  int consecutive_failures = 5;
  double error_ratio = 0.5;
  std::chrono::milliseconds window{10000};
  int min_requests = 20;
  std::chrono::milliseconds open_for{30000};
  int half_open_probes = 3;
};

// deadline: the time a request has left, in milliseconds, sent to the endpoint in `header`
// (Envoy's x-envoy-expected-rq-timeout-ms idea), and, with trust_incoming, read from the client:
// the smaller of the route's request timeout and the client's budget wins.
struct Deadline {
  std::string header;  // empty: off
  bool propagate = true;
  bool trust_incoming = false;
};

// Why a route's cluster could not answer; a fallback names the ones it covers.
enum class FallbackReason : uint8_t {
  circuit_open,       // the cluster's breaker is open
  no_endpoint,        // no routable endpoint (all unhealthy, ejected, removed, fail-closed)
  retries_exhausted,  // every attempt failed (connect, reset, close, timeout, bad response)
  cluster_limit,      // max_requests, max_pending or max_connections refused
};
inline constexpr size_t kFallbackReasons = 4;
inline constexpr const char* kFallbackReasonNames[kFallbackReasons] = {
    "circuit-open", "no-endpoint", "retries-exhausted", "cluster-limit"};

// routes[].fallback: what answers instead when the route's cluster cannot.
struct StaticResponse {
  int status = 503;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;       // inline, or the content of body_file read when the config loads
  std::string body_file;  // the path, when the body came from a file
};
struct Fallback {
  uint8_t on = 0b1111;  // bit (1 << FallbackReason) per reason covered
  std::optional<StaticResponse> response;
  std::string cluster;  // another cluster instead; empty when `response` is set
  bool covers(FallbackReason reason) const { return (on >> static_cast<int>(reason)) & 1; }
};

}  // namespace sluice::config
