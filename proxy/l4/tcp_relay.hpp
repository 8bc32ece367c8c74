// One proxied TCP connection (L4): dials an endpoint of the listener's cluster
// (the next one when a connect fails), then relays bytes both ways until both
// directions have seen FIN, forwarding half-closes, with backpressure on each
// direction. On a TLS listener it dials once the client's handshake is done, so
// a client that never finishes one costs no upstream connection. Worker thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "proxy/core/timer_list.hpp"
#include "proxy/l4/tcp_listener.hpp"
#include "proxy/session/exchange_record.hpp"
#include "proxy/session/session.hpp"
#include "proxy/stream/stream.hpp"
#include "proxy/upstream/attempt.hpp"
#include "proxy/upstream/breaker_ticket.hpp"

namespace sluice::proxy {

class TcpRelay final : public Session, public StreamOwner, public UpstreamOwner, public TimerOwner {
 public:
  TcpRelay(SessionHost& host, const TcpListener& listener, std::unique_ptr<Stream> client);
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  void start() override;
  void abort() override;
  void cut(std::string_view reason) override { fail(reason); }
  // A relay runs until both sides are done (or the drain deadline).
  void drain() override {}
  const EndpointState* relay_endpoint() const override;

  // The client side.
  void on_stream_input(Stream& stream) override;
  void on_stream_sent(Stream& stream) override;
  void on_stream_error(Stream& stream, int error) override;
  void on_stream_closed(Stream& stream) override;
  // The upstream side.
  void on_upstream_connected(UpstreamConnection& connection, int result) override;
  void on_upstream_input(UpstreamConnection& connection) override;
  void on_upstream_sent(UpstreamConnection& connection) override;
  void on_upstream_error(UpstreamConnection& connection, int error) override;
  void on_timer(int kind) override;

 private:
  // What start() does once the client's transport carries its bytes.
  void begin();
  void dial();
  // Moves what `from` received to `to`, pausing `from` while `to` is behind.
  void relay(Stream& from, Stream& to);
  // `to` sent some: `from` may read again.
  void resume(Stream& from, Stream& to);
  void finish_if_done();
  void touch();
  // Ends the relay for `why` (an access log error code; empty: a normal end).
  void fail(std::string_view why);
  void log_connection();
  Stream* upstream() const { return connected_ ? &attempt_.connection()->stream() : nullptr; }

  const TcpListener& listener_;
  Loop& loop_;
  TimerList& idle_timers_;  // the listener's idle timeout (a relay never changes listener)
  std::unique_ptr<Stream> client_;
  Attempt attempt_;
  BreakerTicket breaker_;
  ExchangeRecord record_;
  TimerNode idle_timer_{this, 0};
  uint64_t key_ = 0;  // consistent hashing: the client IP's hash
  bool connected_ = false;
  bool closing_ = false;
  bool awaiting_handshake_ = false;
  char client_address_[64] = "";  // "ip:port", when the access log is on
};

}  // namespace sluice::proxy
