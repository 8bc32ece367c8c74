// The seam between a Stream's socket and its plaintext queues. Plain TCP has
// no transport (the stream moves bytes as they are, without copying). TLS will
// sit here: decrypting what arrives into the stream's input, encrypting what
// the owner queued, and sending records of its own (handshake, alerts,
// tickets) even when the owner has nothing to send. Worker thread only.
#pragma once

#include <cstdint>

#include "proxy/core/buffer_ring.hpp"
#include "proxy/core/chunk_queue.hpp"

namespace sluice::proxy {

class Transport {
 public:
  virtual ~Transport() = default;

  // `length` bytes arrived in receive buffer `buffer`; the call takes over the
  // stream's reference on it. Appends the plaintext they complete to `in`.
  // Returns 0, or -errno when the peer broke the protocol (the stream fails).
  virtual int on_received(BufferRing& buffers, uint16_t buffer, uint32_t length,
                          ChunkQueue& in) = 0;
  // Moves what it can of the owner's plaintext `out` into wire bytes and
  // returns the queue the stream sends from next (possibly non-empty while
  // `out` is empty, possibly empty while `out` is not, e.g. mid-handshake).
  virtual ChunkQueue& wire(ChunkQueue& out, BufferRing& buffers) = 0;
  // Whether everything the owner queued has reached the wire queue, so a FIN
  // may follow once the wire queue is sent.
  virtual bool flushed(const ChunkQueue& out) const { return out.empty(); }
  // The owner asked for a FIN after what it queued: a transport may queue its own goodbye
  // (TLS's close_notify) behind that, before flushed() says yes.
  virtual void on_shutdown() {}
  // Whether the owner's bytes flow yet: false while a TLS handshake is under way.
  virtual bool established() const { return true; }
};

}  // namespace sluice::proxy
