// The TLS transport of one accepted connection: OpenSSL in user space over sluice's own
// buffers. Received records reach OpenSSL through a BIO that reads the stream's receive
// buffers in place (stream_bio.cpp); the records OpenSSL writes are collected and handed to
// the stream as its wire queue. Nothing blocks: a handshake goes as far as the bytes that
// arrived allow, and the transport sends its own records (handshake, tickets, alerts) through
// the stream while the session above sees nothing but plaintext, once the handshake is done.
// A handshake that does not finish within the listener's handshake_timeout fails the stream.
// Worker thread only.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "proxy/core/loop.hpp"
#include "proxy/core/timer_list.hpp"
#include "proxy/metrics/counters.hpp"
#include "proxy/stream/stream.hpp"
#include "proxy/stream/transport.hpp"
#include "proxy/tls/listener_tls.hpp"

namespace sluice::proxy::tls {

class TlsTransport final : public Transport, public TimerOwner {
 public:
  // Starts the handshake timeout. `counters`: this worker's slot of the listener's; may be null.
  TlsTransport(Loop& loop, Stream& stream, std::shared_ptr<const ListenerTls> tls,
               metrics::TlsCounters* counters);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  // Wires a new transport into `stream` (which owns it from then on). Bytes already in
  // `stream.in` (those that followed a PROXY header) are the first ciphertext; returns -EPROTO
  // when they fail the handshake already, else 0.
  static int attach(Loop& loop, Stream& stream, std::shared_ptr<const ListenerTls> tls,
                    metrics::TlsCounters* counters);

  int on_received(BufferRing& buffers, uint16_t buffer, uint32_t length, ChunkQueue& in) override;
  ChunkQueue& wire(ChunkQueue& out, BufferRing& buffers) override;
  bool flushed(const ChunkQueue& out) const override;
  void on_shutdown() override { shutdown_wanted_ = true; }
  void on_timer(int kind) override;

  bool established() const override { return established_; }

  // The BIO's side (stream_bio.cpp): ciphertext OpenSSL reads and writes.
  ChunkQueue& ciphertext_in() { return cipher_in_; }
  std::string& ciphertext_out() { return staged_; }
  BufferRing& buffers() { return loop_.buffers(); }

 private:
  // Handshakes and decrypts as far as the ciphertext received so far allows.
  int advance(ChunkQueue& in);
  void on_established();
  int read_plaintext(ChunkQueue& in);
  int fail(metrics::TlsFailure reason, const char* detail);

  Loop& loop_;
  Stream& stream_;
  std::shared_ptr<const ListenerTls> tls_;
  metrics::TlsCounters* counters_;
  SSL* ssl_;
  ChunkQueue cipher_in_;  // received, not yet read by OpenSSL
  std::string staged_;    // written by OpenSSL, not yet in wire_
  ChunkQueue wire_;       // what the stream sends
  TimerNode handshake_timer_{this, 0};
  bool established_ = false;
  bool failed_ = false;
  bool shutdown_wanted_ = false;
  bool notified_ = false;  // our close_notify is written
};

}  // namespace sluice::proxy::tls
