// One socket and its transport: receiving into the worker's buffer ring
// (multishot), pausing and resuming that for backpressure, sending with at most
// one send in flight (so bytes are never reordered), half-closing, connecting
// with a timeout, and a teardown that cancels everything and tells the owner
// once the kernel holds no operation of it any more. The TCP relay, the HTTP/1
// connection and upstream connections are all built on it. Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "config/config.hpp"
#include "proxy/core/chunk_queue.hpp"
#include "proxy/core/loop.hpp"
#include "proxy/metrics/counters.hpp"
#include "proxy/stream/client_facts.hpp"
#include "proxy/stream/transport.hpp"

namespace sluice::proxy {

class Stream;

// What a stream tells its owner. Calls come from the stream's completion
// handler (or a task it posted); the owner may call any Stream method in them.
class StreamOwner {
 public:
  // Bytes were appended to `in`, or the peer's FIN arrived (eof()).
  virtual void on_stream_input(Stream& stream) = 0;
  // A send completed: `out` shrank (and the FIN went, when asked for).
  virtual void on_stream_sent(Stream& stream) = 0;
  // A receive or send failed with -errno; the stream is closing.
  virtual void on_stream_error(Stream& stream, int error) = 0;
  // connect() finished: 0, or -errno (-ETIMEDOUT when the timeout cut it short).
  virtual void on_stream_connected(Stream& stream, int result) {}
  // After close(): the kernel has returned every operation and the socket is
  // closed. The stream is not touched after this call, so the owner may free it.
  virtual void on_stream_closed(Stream& stream) = 0;

 protected:
  ~StreamOwner() = default;
};

class Stream final : public IoHandler, public BufferWaiter, public Task {
 public:
  // `fd`: an accepted, connected socket, or -1 for one connect() will make.
  Stream(Loop& loop, StreamOwner* owner, int fd = -1);
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  // Only once closed (on_stream_closed) or when no operation was ever submitted.
  ~Stream();

  void set_owner(StreamOwner* owner) { owner_ = owner; }
  // Not owned; null is plain TCP. Set before any byte moves.
  void set_transport(Transport* transport) { transport_ = transport; }
  // The same, and the stream owns it (a TLS transport made per accepted connection).
  void own_transport(std::unique_ptr<Transport> transport) {
    owned_transport_ = std::move(transport);
    transport_ = owned_transport_.get();
  }
  // Where received and sent byte counts go (this worker's slots); may be null.
  void set_counters(metrics::Counter* received, metrics::Counter* sent) {
    received_counter_ = received;
    sent_counter_ = sent;
  }

  // Makes a socket and starts connecting. Returns 0, or -errno when no socket
  // could be made (nothing was submitted).
  int connect(const config::Address& address, config::Duration timeout);
  // Whether the owner wants bytes now: true arms the receive (at once, or as
  // soon as the socket is connected), false pauses it (backpressure).
  void receive(bool wanted) {
    // Most calls confirm what is already so (a relay resumes after every send).
    if (wanted == flags_.want_receive && (!wanted || flags_.receiving || flags_.eof)) return;
    set_receive(wanted);
  }
  // Tells the owner again about bytes already in `in` (or a FIN already seen): for an owner
  // that takes over a stream from a prelude, which may have received more than it took.
  void redeliver_input();
  // Received bytes are dropped instead of queued (a closing HTTP connection
  // reads until the peer's FIN so that its last response is not reset).
  void discard_input() { flags_.discard = true; }
  // Sends what `out` holds; more can be queued and send() called again at any time.
  void send();
  // Sends a FIN once everything queued has been sent.
  void shutdown_after_send();
  // Cancels everything; on_stream_closed follows (never from inside this call).
  void close();
  // close(), and the peer sees a reset instead of a FIN (unsent bytes are dropped).
  void reset();
  // Fails the stream as a broken receive would: close(), then on_stream_error(error). For a
  // transport that gives up on its own (a TLS handshake timeout).
  void fail(int error);

  ChunkQueue in;   // received, not yet taken by the owner
  ChunkQueue out;  // queued by the owner, not yet sent

  int fd() const { return fd_; }
  // What a prelude (PROXY protocol) or the transport (TLS) learned about the client; null
  // when nothing beyond the socket is known.
  const ClientFacts* facts() const { return facts_.get(); }
  ClientFacts& facts_for_update() {
    if (!facts_) facts_ = std::make_unique<ClientFacts>();
    return *facts_;
  }
  // The client's ip (and port, when asked): the PROXY header's when there was one, else the
  // socket's peer. Empty when neither is known (getpeername fails once the peer has gone).
  void peer(char* ip, size_t size, uint16_t* port = nullptr) const;
  bool connected() const { return flags_.connected; }
  // Its transport is still shaking hands (TLS): nothing of the peer's has arrived yet.
  bool handshaking() const { return transport_ != nullptr && !transport_->established(); }
  bool eof() const { return flags_.eof; }    // the peer's FIN arrived
  bool shut() const { return flags_.shut; }  // our FIN went out
  bool sending() const { return flags_.sending; }
  bool closing() const { return flags_.closing; }
  // Nothing queued or in flight towards the peer.
  bool drained() const {
    return !flags_.sending && (transport_ ? transport_->flushed(out) : out.empty());
  }

  void on_completion(unsigned op, int result, unsigned flags) override;
  void on_buffers_available() override;
  void run_task() override;

 private:
  enum Op : unsigned { kConnect = 1, kReceive, kSend };
  void submit(io_uring_sqe* sqe, unsigned op);
  void set_receive(bool wanted);
  void arm_receive();
  void on_connect(int result);
  void on_receive(int result, unsigned flags);
  void on_send(int result);
  ChunkQueue& wire();
  void finish_close();

  Loop& loop_;
  StreamOwner* owner_;
  Transport* transport_ = nullptr;
  std::unique_ptr<Transport> owned_transport_;
  std::unique_ptr<ClientFacts> facts_;
  metrics::Counter* received_counter_ = nullptr;
  metrics::Counter* sent_counter_ = nullptr;
  int fd_;
  unsigned in_flight_ = 0;           // submitted operations whose final completion is pending
  ChunkQueue* sent_from_ = nullptr;  // the queue of the send in flight
  // The send in flight's message: it must live until the send completes.
  iovec iov_[ChunkQueue::kMaxIov]{};
  msghdr msg_{};
  __kernel_timespec connect_timeout_{};
  // Who may submit what next.
  struct Flags {
    bool connected = false;
    bool want_receive = false;     // the owner wants bytes (receive(true))
    bool receiving = false;        // a multishot receive is armed
    bool pausing = false;          // its cancel has been asked for
    bool waiting_buffers = false;  // it ended for want of receive buffers
    bool discard = false;          // received bytes are dropped
    bool eof = false;              // the peer's FIN arrived
    bool sending = false;          // a send is in flight
    bool want_shutdown = false;    // a FIN follows the queued bytes
    bool shut = false;             // our FIN went out
    bool closing = false;
    bool closed = false;  // on_stream_closed was delivered
  } flags_;
};

}  // namespace sluice::proxy
