// Maglev hashing (Eisenbud et al., NSDI 2016): a prime-sized lookup table filled by each
// endpoint in turn along its own permutation, so a pick is one multiply and one load.
//
// Endpoints take turns in identity-hash order, not list order, so the table does not
// depend on the order endpoints are listed in. Heavier endpoints take proportionally more
// turns (as Envoy does). With equal weights every endpoint owns floor or ceil of M / n
// entries, so max/mean <= 1 + n / M; the default M (the smallest prime above
// max(100 n, 65536)) keeps that within 1%. Adding or removing an endpoint moves slightly
// more than its own share of keys (Maglev trades that for the even spread).
//
// Next candidates walk the table from the key's slot; neighbouring slots belong to
// unrelated endpoints, so an excluded endpoint's keys spread over all the others.
//
// Threads: build on the control thread; pick() from any worker.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "balancers/balancer.hpp"
#include "balancers/bounded_load.hpp"

namespace sluice::balancers {

class Maglev final : public Balancer {
 public:
  // table_size 0 picks the default; any other value is rounded up to a prime.
  Maglev(std::span<const Endpoint> endpoints, uint32_t table_size = 0,
         std::optional<double> bounded_load = std::nullopt);

  std::optional<uint32_t> pick(const PickInput& in, CoreState& core) const override;

  uint32_t size() const override { return size_; }
  std::string_view name() const override { return "consistent_hash"; }

  std::span<const uint32_t> table() const { return table_; }

  static uint32_t default_table_size(uint32_t endpoints);
  static uint32_t next_prime(uint32_t n);

 private:
  uint32_t size_;
  std::vector<uint32_t> table_;
  BoundedLoad bound_;
};

}  // namespace sluice::balancers
