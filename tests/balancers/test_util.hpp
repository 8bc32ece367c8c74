// Shared helpers for the balancer tests: endpoint lists and caller-owned load counters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "balancers/balancer.hpp"

namespace sluice::balancers::testing {

// Runtime-heavy loops shrink under sanitizers so the suite stays fast there.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

inline std::vector<Endpoint> make_endpoints(uint32_t n, std::vector<uint32_t> weights = {}) {
  std::vector<Endpoint> out;
  for (uint32_t i = 0; i < n; ++i) {
    out.push_back({"10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":8080",
                   weights.empty() ? 1 : weights[i]});
  }
  return out;
}

// What the proxy owns: one counter block per endpoint, plus the cluster total.
class Loads {
 public:
  explicit Loads(size_t n) : blocks_(n), ptrs_(n) {
    for (size_t i = 0; i < n; ++i) ptrs_[i] = &blocks_[i];
  }
  LoadView view() { return {ptrs_, &total_}; }
  LoadView view_without_total() { return {ptrs_, nullptr}; }
  EndpointLoad& operator[](size_t i) { return blocks_[i]; }
  uint32_t in_flight(size_t i) const { return blocks_[i].in_flight.load(); }
  void begin(uint32_t i) { begin_request(blocks_[i], &total_); }
  void end(uint32_t i) { end_request(blocks_[i], &total_); }
  void set(uint32_t i, uint32_t in_flight) {
    total_.in_flight += in_flight;
    total_.in_flight -= blocks_[i].in_flight.exchange(in_flight);
  }
  uint64_t total() const { return total_.in_flight.load(); }
  size_t size() const { return blocks_.size(); }

 private:
  std::vector<EndpointLoad> blocks_;
  std::vector<EndpointLoad*> ptrs_;
  LoadTotal total_;
};

}  // namespace sluice::balancers::testing
