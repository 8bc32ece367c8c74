// A cluster's endpoints as one snapshot sees them: a list whose positions are
// what balancers pick and pools index, each endpoint with a stable id and the
// shared state that outlives snapshots (load counters), plus the health overlay
// balancers skip. The list has no size cap. Built on the control thread,
// immutable once published; workers read it.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "balancers/endpoint.hpp"
#include "balancers/load.hpp"
#include "config/config.hpp"

namespace sluice::proxy {

// What outlives a snapshot for one endpoint of one cluster, keyed by the
// cluster's name and the endpoint's address (the control thread's registry):
// a reload or a discovery update that keeps the endpoint keeps its id and
// counters, whatever its new position.
struct EndpointState {
  // After a failed connect the endpoint is passed over for 1 s, doubling with
  // each further failure up to 10 s; a connect that succeeds ends it. Like
  // nginx's default (max_fails=1 fail_timeout=10s): without it a dead endpoint
  // costs every other request a refused connect and a retry. Pickers still
  // use a backing-off endpoint when nothing else is left.
  static constexpr int64_t kFirstBackoffNs = 1'000'000'000;
  static constexpr int64_t kMaxBackoffNs = 10'000'000'000;

  explicit EndpointState(uint32_t id) : id(id) {}
  const uint32_t id;  // unique in the process while the state lives
  balancers::EndpointLoad load;

  // Any worker thread; relaxed atomics (a late reader at worst tries once more).
  void connect_failed(int64_t now_ns, int error = 0) {
    last_connect_error.store(error, std::memory_order_relaxed);
    const uint32_t n = connect_failures.fetch_add(1, std::memory_order_relaxed);
    const int64_t backoff = n >= 4 ? kMaxBackoffNs : std::min(kMaxBackoffNs, kFirstBackoffNs << n);
    backoff_until_ns.store(now_ns + backoff, std::memory_order_relaxed);
  }
  void connect_succeeded() {
    // Skip the stores on the happy path: the line stays shared between cores.
    if (connect_failures.load(std::memory_order_relaxed) == 0) return;
    connect_failures.store(0, std::memory_order_relaxed);
    backoff_until_ns.store(0, std::memory_order_relaxed);
  }
  bool backing_off(int64_t now_ns) const {
    return now_ns < backoff_until_ns.load(std::memory_order_relaxed);
  }

  // Set by the control thread when a published snapshot no longer lists the endpoint
  // (discovery or a reload removed it): relays to it that outlive this deadline (now plus
  // drain_timeout) are cut by their worker. 0 while listed; re-adding clears it.
  bool removal_expired(int64_t now_ns) const {
    const int64_t deadline = removal_deadline_ns.load(std::memory_order_relaxed);
    return deadline != 0 && now_ns >= deadline;
  }

  std::atomic<int64_t> backoff_until_ns{0};
  std::atomic<int64_t> removal_deadline_ns{0};
  std::atomic<uint32_t> connect_failures{0};  // in a row; 0 once a connect succeeds
  std::atomic<int> last_connect_error{0};     // -errno of the last failed connect (for logs)
};

struct UpstreamEndpoint {
  uint32_t id = 0;  // EndpointState::id
  config::Address address;
  uint32_t weight = 1;
};

class EndpointList {
 public:
  void add(const config::Address& address, uint32_t weight, std::shared_ptr<EndpointState> state);
  // After the last add(): balancers skip this endpoint (its active check fails, or its
  // cluster is in fail-closed panic). It stays in the list, with its state and counters.
  void mark_unhealthy(uint32_t position) { unhealthy_.insert(position); }

  uint32_t size() const { return static_cast<uint32_t>(endpoints_.size()); }
  bool empty() const { return endpoints_.empty(); }
  const UpstreamEndpoint& operator[](uint32_t position) const { return endpoints_[position]; }
  const std::vector<UpstreamEndpoint>& all() const { return endpoints_; }

  balancers::EndpointLoad* load(uint32_t position) const { return loads_[position]; }
  EndpointState& state(uint32_t position) const { return *states_[position]; }
  std::span<balancers::EndpointLoad* const> loads() const { return loads_; }

  // Endpoints that active health checks (or a fail-closed panic) took out. Sized to the list.
  const balancers::EndpointSet& unhealthy() const { return unhealthy_; }

  // The list as balancers are built from: id text (the address) and weight.
  std::vector<balancers::Endpoint> for_balancer() const;

 private:
  std::vector<UpstreamEndpoint> endpoints_;
  std::vector<std::shared_ptr<EndpointState>> states_;
  std::vector<balancers::EndpointLoad*> loads_;
  balancers::EndpointSet unhealthy_;
};

}  // namespace sluice::proxy
