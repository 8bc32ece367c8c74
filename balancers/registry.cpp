#include "balancers/registry.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include "balancers/least_conn.hpp"
#include "balancers/maglev.hpp"
#include "balancers/ring_hash.hpp"
#include "balancers/round_robin.hpp"
#include "balancers/weighted_round_robin.hpp"

namespace sluice::balancers {

namespace {

BuildResult fail(std::string message) {
  return {nullptr, std::move(message)};
}

template <typename T, typename... Args>
BuildResult made(Args&&... args) {
  return {std::make_unique<T>(std::forward<Args>(args)...), {}};
}

BuildResult make_round_robin(std::span<const Endpoint> e, const Options&) {
  return made<RoundRobin>(e);
}
BuildResult make_weighted_round_robin(std::span<const Endpoint> e, const Options&) {
  return made<WeightedRoundRobin>(e);
}
BuildResult make_least_conn(std::span<const Endpoint> e, const Options&) {
  return made<LeastConn>(e);
}
BuildResult make_p2c(std::span<const Endpoint> e, const Options& o) {
  if (o.load == P2cLoad::ewma_latency && o.ewma_tau_ns <= 0) {
    return fail("p2c: ewma decay time must be positive");
  }
  return made<P2c>(e, o.load, o.ewma_tau_ns);
}
BuildResult make_consistent_hash(std::span<const Endpoint> e, const Options& o) {
  if (o.bounded_load && !(*o.bounded_load > 1.0)) {
    return fail("consistent_hash: bounded_load must be greater than 1.0");
  }
  if (o.algorithm == HashAlgorithm::maglev) {
    if (o.maglev_table_size != 0 && o.maglev_table_size < e.size()) {
      return fail("consistent_hash: maglev table smaller than the endpoint count");
    }
    return made<Maglev>(e, o.maglev_table_size, o.bounded_load);
  }
  if (o.virtual_nodes == 0) return fail("consistent_hash: virtual_nodes must be at least 1");
  return made<RingHash>(e, o.virtual_nodes, o.bounded_load);
}

constexpr RegistryEntry kRegistry[] = {
    {"round_robin", make_round_robin},
    {"weighted_round_robin", make_weighted_round_robin},
    {"least_conn", make_least_conn},
    {"consistent_hash", make_consistent_hash},
    {"p2c", make_p2c},
};

}  // namespace

std::span<const RegistryEntry> registry() {
  return kRegistry;
}

const RegistryEntry* find_balancer(std::string_view name) {
  for (const auto& entry : kRegistry) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

BuildResult make_balancer(std::string_view name, std::span<const Endpoint> endpoints,
                          const Options& options) {
  const RegistryEntry* entry = find_balancer(name);
  if (entry == nullptr) return fail("unknown balancer \"" + std::string(name) + "\"");
  std::vector<std::string_view> ids;
  ids.reserve(endpoints.size());
  for (const auto& e : endpoints) {
    if (e.weight == 0) return fail("endpoint \"" + e.id + "\": weight must be at least 1");
    ids.push_back(e.id);
  }
  std::sort(ids.begin(), ids.end());
  if (auto dup = std::adjacent_find(ids.begin(), ids.end()); dup != ids.end()) {
    return fail("duplicate endpoint \"" + std::string(*dup) + "\"");
  }
  return entry->make(endpoints, options);
}

}  // namespace sluice::balancers
