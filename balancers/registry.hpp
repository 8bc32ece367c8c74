// Config name → balancer factory. The config layer maps its typed Balancer section onto
// Options and calls make_balancer(); errors come back as values, never exceptions.
//
// Threads: control thread (building allocates). The result is immutable and may be
// shared with every worker (e.g. in the snapshot, through a shared_ptr).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "balancers/balancer.hpp"
#include "balancers/p2c.hpp"

namespace sluice::balancers {

enum class HashAlgorithm { ring, maglev };

struct Options {
  // p2c
  P2cLoad load = P2cLoad::in_flight;
  int64_t ewma_tau_ns = 10'000'000'000;
  // consistent_hash
  HashAlgorithm algorithm = HashAlgorithm::ring;
  uint32_t virtual_nodes = 160;        // ring: points per unit of weight
  uint32_t maglev_table_size = 0;      // 0: smallest prime above max(100 n, 65536)
  std::optional<double> bounded_load;  // factor > 1.0, e.g. 1.25
};

struct BuildResult {
  std::unique_ptr<Balancer> balancer;  // null on error
  std::string error;                   // empty on success
  bool ok() const { return balancer != nullptr; }
};

using Factory = BuildResult (*)(std::span<const Endpoint> endpoints, const Options& options);

struct RegistryEntry {
  std::string_view name;
  Factory make;
};

// round_robin, weighted_round_robin, least_conn, consistent_hash, p2c.
std::span<const RegistryEntry> registry();

// nullptr for an unknown name.
const RegistryEntry* find_balancer(std::string_view name);

// Also rejects endpoint lists the algorithms cannot honour: duplicate identities (hashing
// would depend on list order), weight 0, and out-of-range options.
BuildResult make_balancer(std::string_view name, std::span<const Endpoint> endpoints,
                          const Options& options);

}  // namespace sluice::balancers
