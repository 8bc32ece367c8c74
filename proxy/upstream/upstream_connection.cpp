#include "proxy/upstream/upstream_connection.hpp"

#include "proxy/core/clock.hpp"
#include "proxy/tls/tls_transport.hpp"
#include "proxy/upstream/pool.hpp"

namespace sluice::proxy {

UpstreamConnection::UpstreamConnection(Loop& loop, UpstreamPool& pool,
                                       const ClusterRuntime& cluster, uint32_t endpoint,
                                       unsigned worker, limiter::ConcurrencyPermit connection,
                                       limiter::ConcurrencyPermit pending)
    : cluster(cluster),
      endpoint(endpoint),
      stream_(loop, this),
      pool_(pool),
      connection_permit_(std::move(connection)),
      pending_permit_(std::move(pending)),
      counters_(cluster.stats->per_worker.at(worker)) {
  pool_.opened();
  counters_.connections_active.add();
  stream_.set_counters(&counters_.bytes_received, &counters_.bytes_sent);
  stream_.receive(true);  // from the moment it connects: a pooled one notices the endpoint's FIN
}

UpstreamConnection::~UpstreamConnection() {
  counters_.connections_active.sub();
}

int UpstreamConnection::connect(config::Duration timeout, std::string clear) {
  const config::Address& address = cluster.endpoints[endpoint].address;
  if (cluster.tls) {
    stream_.own_transport(std::make_unique<tls::TlsTransport>(
        pool_.loop(), stream_, cluster.tls, address, std::move(clear),
        static_cast<uint64_t>(timeout.count()), &counters_.tls));
  } else if (!clear.empty()) {
    stream_.out.push_owned(std::move(clear));
  }
  return stream_.connect(address, timeout);
}

bool UpstreamConnection::park() {
  return !stream_.closing() && pool_.put(this);
}

void UpstreamConnection::close() {
  // Also when the stream is closing already: a reset closes the stream before
  // telling us, and a pooled connection must still leave its pool and timer.
  TimerList::stop(pool_timer);
  if (pooled) pool_.remove(this);
  owner_ = nullptr;
  pending_permit_.reset();
  stream_.close();
}

void UpstreamConnection::on_stream_connected(Stream&, int result) {
  pending_permit_.reset();
  // The endpoint's connect back-off is the connection's own fact, whoever owns it.
  EndpointState& state = cluster.endpoints.state(endpoint);
  if (result < 0) {
    state.connect_failed(clock::monotonic_ns(), result);
  } else {
    state.connect_succeeded();
    connected_ = true;
  }
  if (owner_ != nullptr) owner_->on_upstream_connected(*this, result);
  if (result < 0) close();
}

void UpstreamConnection::on_stream_input(Stream& stream) {
  if (cluster.tls && stream_.in.empty() && !stream_.eof())
    return;  // TLS records that carried no bytes (a handshake's, a session ticket)
  if (!connected_) {
    // The endpoint closed (or answered in clear) during the TLS handshake.
    on_stream_connected(stream, kUpstreamTlsFailed);
    return;
  }
  if (owner_ == nullptr) {
    // Idle in the pool: the endpoint closed it (or sent bytes nobody asked for).
    close();
    return;
  }
  owner_->on_upstream_input(*this);
}

void UpstreamConnection::on_stream_sent(Stream&) {
  // Before the connect is reported only a TLS handshake's own records went out.
  if (owner_ != nullptr && connected_) owner_->on_upstream_sent(*this);
}

void UpstreamConnection::on_stream_error(Stream& stream, int error) {
  if (!connected_) {
    // Before on_upstream_connected(0) only a TLS handshake fails this way: still a connect
    // failure for the owner (a retry may go elsewhere), with TLS's own reason.
    on_stream_connected(stream, error == -EPROTO ? kUpstreamTlsFailed : error);
    return;
  }
  UpstreamOwner* owner = owner_;
  close();
  if (owner != nullptr) owner->on_upstream_error(*this, error);
}

void UpstreamConnection::on_stream_closed(Stream&) {
  UpstreamPool& pool = pool_;
  delete this;
  pool.freed();
}

}  // namespace sluice::proxy
