#include "proxy/l4/tcp_relay.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "proxy/core/clock.hpp"
#include "proxy/core/log.hpp"
#include "proxy/core/socket.hpp"

namespace sluice::proxy {

TcpRelay::TcpRelay(SessionHost& host, const TcpListener& listener, std::unique_ptr<Stream> client)
    : listener_(listener),
      loop_(host.loop()),
      idle_timers_(host.idle_timers()),
      client_(std::move(client)) {
  this->host = &host;
  client_->set_owner(this);
  metrics::ListenerCounters& counters = host.counters();
  client_->set_counters(&counters.bytes_received, &counters.bytes_sent);
}

const EndpointState* TcpRelay::relay_endpoint() const {
  if (!connected_) return nullptr;
  const UpstreamConnection& c = *attempt_.connection();
  return &c.cluster.endpoints.state(c.endpoint);
}

void TcpRelay::start() {
  record_.start_ns = clock::monotonic_ns();
  if (client_->handshaking()) {
    awaiting_handshake_ = true;
    touch();
    client_->receive(true);
    return;
  }
  begin();
}

void TcpRelay::begin() {
  const ClusterRuntime& cluster = listener_.cluster;
  char ip[INET6_ADDRSTRLEN] = "";
  if (host->logging() || cluster.needs_key) {
    // Now: once the peer has gone, getpeername() fails.
    uint16_t port = 0;
    client_->peer(ip, sizeof ip, &port);
    if (host->logging()) format_address(ip, port, client_address_, sizeof client_address_);
  }
  if (cluster.needs_key) key_ = connection_key(ip);
  if (listener_.rate_limit != nullptr) record_.limit = access_log::LimitOutcome::admitted;
  touch();
  if (!breaker_.begin(cluster, clock::monotonic_ns())) {
    record_.breaker = access_log::BreakerOutcome::rejected;
    LOG_DEBUG("cluster %s: circuit open, refusing a connection", cluster.name().c_str());
    fail("circuit-open");
    return;
  }
  if (cluster.breaker) record_.breaker = access_log::BreakerOutcome::allowed;
  attempt_.begin(cluster, key_, 1 + listener_.config.retries.attempts);
  dial();
}

void TcpRelay::dial() {
  const ClusterRuntime& cluster = listener_.cluster;
  const Attempt::Dial result =
      attempt_.dial(host->pool(), host->core(cluster), host->worker_index(), this,
                    listener_.config.timeouts.connect, /*allow_pooled=*/false, client_.get());
  switch (result) {
    case Attempt::Dial::connecting:
    case Attempt::Dial::pooled:
      return;
    case Attempt::Dial::no_endpoint:
    case Attempt::Dial::exhausted: {
      const bool tried = attempt_.tried() != 0;
      if (tried) breaker_.failed(clock::monotonic_ns());
      // At most a line a second per worker: an outage must not cost a line per connection.
      LOG_WARN_THROTTLED("listener %s: no endpoint of cluster %s is available",
                         listener_.config.name.c_str(), cluster.name().c_str());
      fail(tried ? "connect-failed" : "no-endpoint");
      return;
    }
    case Attempt::Dial::max_pending:
    case Attempt::Dial::max_connections: {
      const bool pending = result == Attempt::Dial::max_pending;
      LOG_DEBUG("cluster %s: %s reached, refusing a connection", cluster.name().c_str(),
                pending ? "max_pending" : "max_connections");
      breaker_.cancel();
      cluster.stats->per_worker.at(host->worker_index())
          .refused_by(pending ? metrics::ClusterCap::max_pending
                              : metrics::ClusterCap::max_connections);
      fail(pending ? "cluster-max-pending" : "cluster-max-connections");
      return;
    }
    case Attempt::Dial::no_socket:
      fail("connect-failed");
      return;
  }
}

void TcpRelay::on_upstream_connected(UpstreamConnection&, int result) {
  if (closing_) return;
  const ClusterRuntime& cluster = listener_.cluster;
  const int64_t now = clock::monotonic_ns();
  if (result < 0) {
    attempt_.connect_failed(result);
    if (attempt_.attempts_left() > 0) {
      dial();
      return;
    }
    breaker_.failed(now);
    LOG_WARN_THROTTLED("listener %s: no endpoint of cluster %s accepted the connection (last: %s)",
                       listener_.config.name.c_str(), cluster.name().c_str(),
                       result == -ETIMEDOUT ? "connect timeout" : std::strerror(-result));
    fail(result == -ETIMEDOUT ? "connect-timeout" : "connect-failed");
    return;
  }
  report_endpoint(cluster, attempt_.endpoint(), EndpointResult::ok, now);
  connected_ = true;
  record_.upstream_ns = now - attempt_.dispatched_ns();
  // L4: the connect is the exchange, and the handshake the latency P2C's EWMA sees.
  cluster.stats->per_worker.at(host->worker_index()).duration.observe_ns(record_.upstream_ns);
  breaker_.succeeded(now);
  if (cluster.tracks_latency)
    balancers::observe_latency(*attempt_.load(), record_.upstream_ns, now, cluster.ewma_tau_ns);
  touch();
  client_->receive(true);
  // What arrived before the endpoint answered (with a PROXY header, the bytes behind it).
  if (!client_->in.empty() || client_->eof()) relay(*client_, *upstream());
}

void TcpRelay::relay(Stream& from, Stream& to) {
  touch();
  to.out.append(from.in);
  to.send();
  if (to.out.queued_bytes() > ChunkQueue::kHighWater) from.receive(false);
  if (from.eof()) {
    to.shutdown_after_send();
    finish_if_done();
  }
}

void TcpRelay::resume(Stream& from, Stream& to) {
  touch();
  if (to.out.queued_bytes() <= ChunkQueue::kLowWater) from.receive(true);
  // Only a FIN going out can complete the relay.
  if (to.shut()) finish_if_done();
}

void TcpRelay::on_stream_input(Stream&) {
  if (closing_) return;
  if (awaiting_handshake_) {
    if (client_->handshaking()) {
      if (client_->eof()) abort();  // left mid-handshake (the transport counted it)
      return;
    }
    // Bytes sent with the handshake's last flight wait in client_->in for the endpoint.
    awaiting_handshake_ = false;
    client_->receive(false);
    begin();
    return;
  }
  if (connected_) relay(*client_, *upstream());
}

void TcpRelay::on_stream_sent(Stream&) {
  if (!closing_ && connected_) resume(*upstream(), *client_);
}

void TcpRelay::on_upstream_input(UpstreamConnection&) {
  if (!closing_) relay(*upstream(), *client_);
}

void TcpRelay::on_upstream_sent(UpstreamConnection&) {
  if (!closing_) resume(*client_, *upstream());
}

void TcpRelay::on_stream_error(Stream&, int error) {
  LOG_DEBUG("listener %s: client side failed: %s", listener_.config.name.c_str(),
            std::strerror(-error));
  abort();
}

void TcpRelay::on_upstream_error(UpstreamConnection&, int error) {
  LOG_DEBUG("listener %s: upstream side failed: %s", listener_.config.name.c_str(),
            std::strerror(-error));
  attempt_.release();  // it is closing itself
  connected_ = false;
  abort();
}

void TcpRelay::finish_if_done() {
  Stream* up = upstream();
  if (up != nullptr && client_->eof() && up->shut() && up->eof() && client_->shut()) abort();
}

void TcpRelay::touch() {
  idle_timers_.start(idle_timer_, loop_.now_ms());
}

void TcpRelay::on_timer(int) {
  LOG_DEBUG("listener %s: connection idle for too long, closing", listener_.config.name.c_str());
  abort();
}

void TcpRelay::fail(std::string_view why) {
  if (record_.error.empty()) record_.error = why;
  abort();
}

void TcpRelay::abort() {
  if (closing_) return;
  closing_ = true;
  log_connection();
  TimerList::stop(idle_timer_);
  connected_ = false;
  if (UpstreamConnection* c = attempt_.release()) c->close();
  client_->close();  // on_stream_closed ends the session
}

void TcpRelay::on_stream_closed(Stream&) {
  host->session_ended(*this);  // frees this relay: nothing after
}

void TcpRelay::log_connection() {
  access_log::RecordRing* ring = host->access_log();
  if (ring == nullptr) return;
  const ClusterRuntime& cluster = listener_.cluster;
  RecordText text;
  text.client = client_address_;
  text.listener = listener_.config.name;
  text.cluster = cluster.name();
  if (attempt_.dispatched()) text.endpoint = cluster.endpoints[attempt_.endpoint()].address.text;
  if (const ClientFacts* facts = client_->facts(); facts != nullptr && facts->tls) {
    text.tls_sni = facts->sni;
    text.tls_version = facts->tls_version;
    text.tls_cipher = facts->tls_cipher;
  }
  push_record(*ring, access_log::Kind::tcp, record_, text, client_->in.pushed_total(),
              client_->out.consumed_total(), clock::monotonic_ns());
}

}  // namespace sluice::proxy
