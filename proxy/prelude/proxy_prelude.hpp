// The session a connection to a `proxy_protocol` listener starts as: it reads the PROXY header
// (v1 or v2, split over any number of reads) within the listener's timeout, records the client
// it names in the stream's ClientFacts, then hands the stream, with whatever followed the
// header still queued, to the listener's own factory, whose session takes its place. A
// malformed header or none in time closes the connection, counted by reason. Worker thread only.
#pragma once

#include <memory>

#include "proxy/core/timer_list.hpp"
#include "proxy/proxy_protocol/header.hpp"
#include "proxy/session/session.hpp"

namespace sluice::proxy {

class ProxyProtocolListener;

class ProxyPrelude final : public Session, public StreamOwner, public TimerOwner {
 public:
  ProxyPrelude(SessionHost& host, const ProxyProtocolListener& listener,
               std::unique_ptr<Stream> client);
  ~ProxyPrelude() override;

  void start() override;
  void abort() override { close(); }
  // Nothing of the client's has begun yet: there is nothing to finish.
  void drain() override { close(); }

  void on_stream_input(Stream& stream) override;
  void on_stream_sent(Stream&) override {}
  void on_stream_error(Stream&, int) override {}  // the stream closes; on_stream_closed follows
  void on_stream_closed(Stream&) override { host->session_ended(*this); }
  void on_timer(int kind) override;

 private:
  void refuse(metrics::ProxyRefusal why, const char* detail);
  void accept(const proxy_protocol::Header& header);
  void close();

  const ProxyProtocolListener& listener_;
  std::unique_ptr<Stream> client_;
  TimerNode header_timer_{this, 0};
  bool closing_ = false;
};

}  // namespace sluice::proxy
