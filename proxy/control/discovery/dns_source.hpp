// The DNS discovery source: a cluster's endpoints are the A, AAAA or SRV records of a name,
// asked again when the answer's smallest TTL expires (clamped to [min_ttl, max_ttl]).
// NXDOMAIN and "no records" are answers (an empty set, which the sink's guard holds for its
// confirm window) asked again after negative_ttl; SERVFAIL, REFUSED, timeouts and unreachable
// resolvers are failures (the cluster keeps its set) retried after 1 s doubling to 30 s,
// ±20% so that many clusters do not retry in step. SRV: port and weight (0 counts as 1) from
// the record, the lowest priority group only, each target's IPv4 addresses (its IPv6 ones
// when it has none).
// Control thread only; the loop and the sink must outlive the source. The sink's deliver()
// and fail() run inside a c-ares callback: to destroy the source from there, post() it.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/control/discovery/dns_resolver.hpp"
#include "proxy/control/discovery/source.hpp"
#include "proxy/control/loop/control_loop.hpp"

namespace sluice::proxy::discovery {

struct DnsSourceOptions {
  enum class Type { a, aaaa, srv };
  std::string name;
  Type type = Type::a;
  uint16_t port = 0;  // A/AAAA: the endpoints' port
  DnsResolverOptions resolver;
  std::chrono::milliseconds min_ttl{1000};
  std::chrono::milliseconds max_ttl{300'000};
  std::chrono::milliseconds negative_ttl{5000};
  std::chrono::milliseconds first_backoff{1000};  // after the first failure in a row
  std::chrono::milliseconds max_backoff{30'000};
  double jitter = 0.2;  // each back-off is scaled by a random factor in [1 - jitter, 1 + jitter]

  static DnsSourceOptions from(const config::DnsDiscovery& dns);
};

class DnsSource : public Source {
 public:
  DnsSource(control::ControlLoop& loop, DnsSourceOptions options, SourceSink& sink);
  ~DnsSource() override;
  DnsSource(const DnsSource&) = delete;
  DnsSource& operator=(const DnsSource&) = delete;

  void start() override;  // asks at once
  const char* kind() const override { return "dns"; }
  std::string describe() const override;  // "dns SRV _api._tcp.internal"

  // When the next question goes out, counted from the last answer or failure (for /clusters
  // and tests); zero while a question is in flight or before start().
  std::chrono::milliseconds next_delay() const { return next_delay_; }

 private:
  // One round of questions: the name's records, and for SRV the addresses of its targets.
  struct Round;
  void resolve();
  void on_records(int status, std::span<const unsigned char> answer);
  void on_srv(std::span<const unsigned char> answer);
  void on_target(size_t target, int type, int status, std::span<const unsigned char> answer);
  void finish_srv();
  // Outcomes: a set with its answer's TTL, "no endpoints", or a failure.
  void deliver(std::vector<DiscoveredEndpoint> set, uint32_t ttl);
  void deliver_empty(const char* rcode);
  void failed(std::string why);
  void schedule(std::chrono::milliseconds delay);
  std::string type_name() const;

  control::ControlLoop& loop_;
  DnsSourceOptions options_;
  SourceSink& sink_;
  std::mt19937 random_;
  int failures_in_a_row_ = 0;
  std::chrono::milliseconds next_delay_{0};
  control::ControlLoop::TimerId timer_ = 0;
  std::unique_ptr<Round> round_;
  DnsResolver resolver_;  // last: destroyed first, so no answer arrives into a dying source
};

}  // namespace sluice::proxy::discovery
