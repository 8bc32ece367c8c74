#include "proxy/upstream/attempt.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"
#include "proxy/upstream/breaker_ticket.hpp"
#include "proxy/upstream/proxy_header.hpp"

namespace sluice::proxy {

void Attempt::begin(const ClusterRuntime& cluster, uint64_t key, int attempts) {
  load_.end();
  cluster_ = &cluster;
  picker_.reset(cluster);
  connection_ = nullptr;
  key_ = key;
  preferred_.reset();
  attempts_left_ = attempts;
  last_connect_failure_ = 0;
  dispatched_ = false;
  reused_ = false;
  avoid_pool_ = false;
}

void Attempt::clear() {
  load_.end();
  connection_ = nullptr;
  dispatched_ = false;
  reused_ = false;
}

Attempt::Dial Attempt::dial(UpstreamPool& pool, balancers::CoreState& core, unsigned worker,
                            UpstreamOwner* owner, config::Duration connect_timeout,
                            bool allow_pooled, const Stream* client) {
  const ClusterRuntime& cluster = *cluster_;
  const int64_t now = clock::monotonic_ns();
  std::optional<uint32_t> picked;
  if (preferred_ && picker_.take(cluster, *preferred_, now)) picked = preferred_;
  preferred_.reset();
  if (!picked) picked = picker_.pick(cluster, core, key_, now);
  if (!picked) return picker_.tried() == 0 ? Dial::no_endpoint : Dial::exhausted;
  counters_ = &cluster.stats->per_worker.at(worker);
  counters_->requests.add();
  if (dispatched_) counters_->retries.add();
  dispatched_ = true;
  dispatched_ns_ = now;
  endpoint_ = *picked;
  --attempts_left_;
  load_.begin(cluster, endpoint_);

  // A pooled connection first: no handshake, and it keeps the pool warm. One that started
  // with a PROXY header names one client: only that client's own (bound) ones will do.
  const config::ProxyProtocolSend proxy_protocol = cluster.config->proxy_protocol;
  const bool proxied = proxy_protocol != config::ProxyProtocolSend::off;
  if (proxied && client == nullptr) allow_pooled = false;
  connection_ = allow_pooled && !avoid_pool_
                    ? pool.take(cluster, endpoint_, proxied ? client : nullptr)
                    : nullptr;
  avoid_pool_ = false;
  reused_ = connection_ != nullptr;
  if (connection_ != nullptr) {
    connection_->set_owner(owner);
    return Dial::pooled;
  }
  // A new connection counts against max_connections for its life and against
  // max_pending until the handshake is done.
  limiter::ConcurrencyPermit pending, connection;
  if (cluster.limits) {
    pending = limiter::ConcurrencyPermit::try_acquire(cluster.limits->pending);
    if (pending) connection = limiter::ConcurrencyPermit::try_acquire(cluster.limits->connections);
    if (!connection) {
      load_.end();
      return pending ? Dial::max_connections : Dial::max_pending;
    }
  }
  connection_ = new UpstreamConnection(pool.loop(), pool, cluster, endpoint_, worker,
                                       std::move(connection), std::move(pending));
  connection_->set_owner(owner);
  std::string header;
  if (proxied) {
    // The first thing sent once connected, in the clear even before a TLS handshake.
    header = proxy_header(proxy_protocol, client);
    connection_->bound_to = client;
  }
  if (const int error = connection_->connect(connect_timeout, std::move(header)); error < 0) {
    LOG_ERROR_THROTTLED("cluster %s: cannot create an upstream socket: %s", cluster.name().c_str(),
                        std::strerror(-error));
    release()->close();
    return Dial::no_socket;
  }
  return Dial::connecting;
}

void Attempt::connect_failed(int result) {
  const ClusterRuntime& cluster = *cluster_;
  counters_->connect_failures.add();
  last_connect_failure_ = result;
  report_endpoint(cluster, endpoint_, EndpointResult::connect_failure, clock::monotonic_ns());
  LOG_DEBUG("cluster %s: endpoint %s failed: %s", cluster.name().c_str(),
            cluster.endpoints[endpoint_].address.text.c_str(),
            result == -ETIMEDOUT ? "connect timeout" : std::strerror(-result));
  load_.end();
  connection_ = nullptr;  // it closes itself once its owner has heard
}

bool Attempt::can_retry() const {
  return attempts_left_ > 0 && picker_.has_candidate(*cluster_, clock::monotonic_ns());
}

UpstreamConnection* Attempt::release() {
  load_.end();
  return std::exchange(connection_, nullptr);
}

void Attempt::retry_same_endpoint() {
  picker_.untry(endpoint_);
  ++attempts_left_;
  avoid_pool_ = true;
}

}  // namespace sluice::proxy
