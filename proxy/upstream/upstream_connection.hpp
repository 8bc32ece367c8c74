// A connection to one endpoint, reusable across requests (keep-alive). It owns
// its Stream, so it can move between an owner (an HTTP exchange, a TCP relay)
// and its pool's idle list without cancelling its receive. It counts against
// the cluster's max_connections for its life and max_pending while connecting.
// Worker thread only.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "limiter/concurrency_limit.hpp"
#include "proxy/core/loop.hpp"
#include "proxy/core/timer_list.hpp"
#include "proxy/metrics/counters.hpp"
#include "proxy/stream/stream.hpp"
#include "proxy/upstream/cluster.hpp"

namespace sluice::proxy {

class UpstreamConnection;
class UpstreamPool;

// on_upstream_connected's result when TCP connected but the TLS handshake with the endpoint
// failed (its certificate did not verify, no common protocol, it is no TLS server...). A TCP
// connect never fails with EPROTO.
constexpr int kUpstreamTlsFailed = -EPROTO;

// What an upstream connection reports to whoever uses it.
class UpstreamOwner {
 public:
  // 0, or -errno (-ETIMEDOUT on timeout, kUpstreamTlsFailed). With TLS, 0 comes once the
  // handshake is done. On failure the connection closes itself right after this call; the
  // owner may first take the unsent bytes.
  virtual void on_upstream_connected(UpstreamConnection& connection, int result) = 0;
  // in() has new bytes, or eof() became true.
  virtual void on_upstream_input(UpstreamConnection& connection) = 0;
  // out() shrank.
  virtual void on_upstream_sent(UpstreamConnection& connection) = 0;
  // A receive or send failed: it is closing; the owner must forget it.
  virtual void on_upstream_error(UpstreamConnection& connection, int error) = 0;

 protected:
  ~UpstreamOwner() = default;
};

class UpstreamConnection final : public StreamOwner, public TimerOwner {
 public:
  // `cluster` belongs to the snapshot of `pool`'s generation, which the
  // connection keeps alive through the pool's count of live connections.
  UpstreamConnection(Loop& loop, UpstreamPool& pool, const ClusterRuntime& cluster,
                     uint32_t endpoint, unsigned worker, limiter::ConcurrencyPermit connection,
                     limiter::ConcurrencyPermit pending);

  // Starts connecting; the owner hears on_upstream_connected. `clear`: bytes sent first, before
  // any TLS handshake (a PROXY protocol header). With the cluster's tls, `timeout` bounds the
  // TCP connect and then the handshake. Returns -errno when no socket could be made (the
  // caller closes the connection).
  int connect(config::Duration timeout, std::string clear = {});
  void set_owner(UpstreamOwner* owner) { owner_ = owner; }
  // Back to its pool's idle list after a clean exchange; false when the pool
  // takes no more (the caller closes it).
  bool park();
  // Closes the socket; the object frees itself once the kernel is done with it.
  void close();

  ChunkQueue& in() { return stream_.in; }
  ChunkQueue& out() { return stream_.out; }
  Stream& stream() { return stream_; }
  bool closing() const { return stream_.closing(); }
  bool idle_in_pool() const { return owner_ == nullptr; }

  void on_stream_input(Stream& stream) override;
  void on_stream_sent(Stream& stream) override;
  void on_stream_error(Stream& stream, int error) override;
  void on_stream_connected(Stream& stream, int result) override;
  void on_stream_closed(Stream& stream) override;
  void on_timer(int kind) override { close(); }  // idle in the pool for too long

  const ClusterRuntime& cluster;
  const uint32_t endpoint;  // position in cluster.endpoints
  TimerNode pool_timer{this, 0};
  uint32_t requests = 0;  // served on it, for reuse accounting
  bool pooled = false;    // on its pool's idle list
  // The client connection whose PROXY header it began with (opaque; null: none). Parked, it
  // waits in the pool for that client's next request only, never another's.
  const void* bound_to = nullptr;

 private:
  ~UpstreamConnection();

  Stream stream_;
  UpstreamPool& pool_;
  limiter::ConcurrencyPermit connection_permit_;
  limiter::ConcurrencyPermit pending_permit_;
  metrics::ClusterCounters& counters_;  // this worker's slot of the cluster's stats
  UpstreamOwner* owner_ = nullptr;
  bool connected_ = false;  // on_upstream_connected(0) went out (TLS: the handshake is done)
};

}  // namespace sluice::proxy
