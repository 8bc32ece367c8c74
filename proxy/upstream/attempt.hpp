// How one request (L7) or relay (L4) reaches an endpoint of its cluster: pick
// the next endpoint (skipping tried, ejected and unhealthy ones), count the
// attempt (cluster metrics, shared load counters), then take an idle pooled
// connection or open a new one under the cluster's caps and start connecting
// with a timeout. A retry is another dial(). Worker thread only.
#pragma once

#include <cstdint>
#include <optional>

#include "balancers/balancer.hpp"
#include "config/config.hpp"
#include "proxy/upstream/cluster.hpp"
#include "proxy/upstream/endpoint_picker.hpp"
#include "proxy/upstream/load_ticket.hpp"
#include "proxy/upstream/pool.hpp"
#include "proxy/upstream/upstream_connection.hpp"

namespace sluice::proxy {

class Attempt {
 public:
  enum class Dial {
    connecting,       // a new connection is connecting (owner hears on_upstream_connected)
    pooled,           // an idle keep-alive connection was taken: ready now
    no_endpoint,      // nothing to try at all (all ejected or unhealthy, none configured)
    exhausted,        // every endpoint left has been tried
    max_pending,      // the cluster's max_pending refused a new connection
    max_connections,  // the cluster's max_connections refused a new connection
    no_socket,        // the socket could not be made (descriptors exhausted)
  };

  // A new request or relay to `cluster`: `attempts` tries in all.
  void begin(const ClusterRuntime& cluster, uint64_t key, int attempts);
  // The first dial() goes to `endpoint` (a sticky cookie's) if it is routable then, else
  // the balancer picks as usual. Call after begin().
  void prefer(uint32_t endpoint) { preferred_ = endpoint; }
  // Forgets the last request (which must hold no connection any more), so an
  // attempt object reused for a request that never dials reports nothing.
  void clear();
  // The next try. On connecting/pooled, connection() is set and owned by
  // `owner`; otherwise there is none and nothing is counted against the endpoint.
  Dial dial(UpstreamPool& pool, balancers::CoreState& core, unsigned worker, UpstreamOwner* owner,
            config::Duration connect_timeout, bool allow_pooled, const Stream* client = nullptr);
  // The connection's connect failed (result as on_upstream_connected gave it):
  // counts it, reports it to outlier detection, and forgets the connection
  // (it closes itself).
  void connect_failed(int result);
  // The result of the last failed connect of this request (0: none failed): what a request
  // that ran out of endpoints tells its client (kUpstreamTlsFailed: "upstream-tls").
  int last_connect_failure() const { return last_connect_failure_; }
  // The current connection leaves the attempt (to the pool, or closed by the
  // caller); the endpoint's load count ends.
  UpstreamConnection* release();
  // Let the next dial() try the current endpoint again without spending an
  // attempt (a pooled connection the endpoint had closed meanwhile).
  void retry_same_endpoint();

  const ClusterRuntime& cluster() const { return *cluster_; }
  UpstreamConnection* connection() const { return connection_; }
  bool reused() const { return reused_; }
  uint32_t endpoint() const { return endpoint_; }
  bool dispatched() const { return dispatched_; }  // an endpoint was picked at least once
  uint32_t tried() const { return picker_.tried(); }
  int attempts_left() const { return attempts_left_; }
  // Another try could go somewhere: an attempt is left and some endpoint not
  // tried, ejected or unhealthy remains.
  bool can_retry() const;
  int64_t dispatched_ns() const { return dispatched_ns_; }
  balancers::EndpointLoad* load() const { return load_.load(); }

 private:
  const ClusterRuntime* cluster_ = nullptr;
  EndpointPicker picker_;
  LoadTicket load_;                               // counts this request against endpoint_
  metrics::ClusterCounters* counters_ = nullptr;  // this worker's slot of the cluster's stats
  UpstreamConnection* connection_ = nullptr;
  uint64_t key_ = 0;
  std::optional<uint32_t> preferred_;
  int64_t dispatched_ns_ = 0;
  uint32_t endpoint_ = 0;
  int attempts_left_ = 0;
  int last_connect_failure_ = 0;
  bool dispatched_ = false;
  bool reused_ = false;
  bool avoid_pool_ = false;
};

}  // namespace sluice::proxy
