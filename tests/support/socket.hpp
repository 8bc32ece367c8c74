// Loopback TCP client helpers with timeouts, for tests that talk to sluice and
// backends. Every socket is non-blocking and close-on-exec (so spawned servers
// never inherit a test's connection and keep it open); waits go through poll().
// Test threads only; a Socket belongs to one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::testing {

using Millis = std::chrono::milliseconds;

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { close(); }

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void close();

 private:
  int fd_ = -1;
};

// A port on 127.0.0.1 that was free a moment ago (bound, then released), below the kernel's
// ephemeral range so that no client's source port takes it meanwhile; never the same port twice
// in one process.
uint16_t free_loopback_port();
// A port free on every address, IPv4 and IPv6 (for a listener on [::] or 0.0.0.0): a port free
// on 127.0.0.1 may be taken on another one. Never one either function gave before.
uint16_t free_wildcard_port();
std::string loopback_address(uint16_t port);  // "127.0.0.1:PORT"

// A loopback port that is bound but not listening: connections to it are
// refused at once, and nobody else can take the port while the Socket lives.
// The "upstream down" endpoint of failover tests.
Socket reserve_refusing_port(uint16_t* port);

// A loopback listener that never answers: its accept queue is kept full, so
// further SYNs are dropped and connects to it hang until the caller gives up.
// The "endpoint unreachable" case for connect-timeout tests.
struct Blackhole {
  Socket listener;
  std::vector<Socket> fillers;  // the connections that fill the queue
  uint16_t port = 0;
};
Blackhole make_blackhole();

// Connects to 127.0.0.1:port. Returns an invalid Socket on failure and says why in *error.
Socket connect_loopback(uint16_t port, Millis timeout, std::string* error = nullptr);

// Polls until a connection to the port succeeds (the connection is closed again).
bool wait_port_accepts(uint16_t port, Millis timeout);

// For a test whose loopback client got no answer: what the kernel says about the server's
// end (from /proc/net/tcp and tcp6), e.g. "the listener on :8080 has 1 connection waiting to be
// accepted; the server's end of this one: not accepted by any process, 27 bytes unread".
// It tells "never accepted" from "never read" from "read, never answered".
std::string server_side_view(const Socket& client);

bool send_all(const Socket& s, std::string_view data, Millis timeout);
bool shutdown_write(const Socket& s);

enum class StreamEnd { eof, reset, timeout, limit };
const char* to_string(StreamEnd end);

struct ReceiveResult {
  std::string data;
  StreamEnd end = StreamEnd::timeout;
};
// Reads until the peer closes, an error, the timeout, or `limit` bytes.
ReceiveResult recv_until_eof(const Socket& s, Millis timeout, size_t limit = 64 << 20);

// Fills at most `capacity` bytes, returns how many; 0 means "nothing more to send".
using Producer = std::function<size_t(char* buffer, size_t capacity)>;
using Consumer = std::function<void(const char* data, size_t size)>;

struct PumpResult {
  bool ok = false;  // everything sent, then EOF received
  std::string error;
  uint64_t sent = 0;
  uint64_t received = 0;
};
// Full duplex: sends what `producer` yields while handing every received byte to
// `consumer`, shuts down the write side after the last byte, then reads until
// EOF. Needed whenever the peer answers while we are still sending (echo of a
// large payload), which a send-everything-then-read client would deadlock on.
PumpResult pump(const Socket& s, const Producer& producer, const Consumer& consumer,
                Millis timeout);

// Reads until EOF without sending anything or shutting down the write side.
PumpResult drain(const Socket& s, const Consumer& consumer, Millis timeout);

// pump() of a fixed payload, collecting the answer.
PumpResult exchange(const Socket& s, std::string_view payload, std::string* answer, Millis timeout);

}  // namespace sluice::testing
