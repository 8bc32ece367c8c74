// A scripted HTTP upstream that runs inside the test process: a loopback
// listener whose every accepted connection is handed, on its own thread, to a
// handler the test writes. It records what reached it (connections, request
// heads, bytes), so a test can prove what the proxy forwarded, rewrote or held
// back, and it can misbehave on purpose (resets, malformed responses, stalls,
// 100-continue, 101 upgrades) where sluice-test-backend only answers politely.
//
// Threads: the handler runs on the connection's thread; the counters and
// recordings may be read from the test thread at any time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace sluice::testing {

using Millis = std::chrono::milliseconds;

// One request head as the upstream saw it, plus its body when it was read whole.
struct UpstreamRequest {
  std::string raw_head;  // start line through the final CRLFCRLF, verbatim
  std::string method, target, version;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, values trimmed
  std::string body;
  uint64_t connection = 0;  // 1-based accept order

  // First value of a header (case-insensitive name), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  size_t count(std::string_view name) const;
  bool chunked() const;
};

class Upstream;

// The server side of one accepted connection. Blocking calls with deadlines;
// every read is counted towards the Upstream's byte total.
class UpstreamConn {
 public:
  UpstreamConn(Upstream& owner, int fd, uint64_t id);
  ~UpstreamConn();

  uint64_t id() const { return id_; }
  int fd() const { return fd_; }

  // Reads one request head (and, with read_body, its whole body, decoded).
  // nullopt when the peer closes or the timeout passes first.
  std::optional<UpstreamRequest> read_request(Millis timeout = Millis(10000),
                                              bool read_body = true);
  // Streams the body of `request` (Content-Length or chunked) to `consumer`
  // without keeping it; false on EOF/timeout/bad framing before its end.
  bool stream_body(const UpstreamRequest& request,
                   const std::function<void(const char*, size_t)>& consumer, Millis timeout);

  bool write(std::string_view data, Millis timeout = Millis(10000));
  void shutdown_write();
  // Closes with SO_LINGER 0: the peer sees a reset, not a FIN.
  void reset();
  // Bytes until EOF (or timeout / limit); what was buffered after the last head too.
  std::string read_until_eof(Millis timeout, size_t limit = 1 << 20);
  // Records text for the test thread (Upstream::notes()).
  void note(std::string_view text);
  // Waits for exactly `n` more bytes; "" on EOF/timeout before that.
  std::string read_exact(size_t n, Millis timeout);

 private:
  // Appends at least one byte to buf_; false on EOF, error or timeout.
  bool fill(std::chrono::steady_clock::time_point deadline);

  Upstream& owner_;
  int fd_;
  uint64_t id_;
  std::string buf_;  // received, not yet consumed
};

class Upstream {
 public:
  using Handler = std::function<void(UpstreamConn&)>;

  // Listens on 127.0.0.1:<ephemeral> and serves every connection with `handler`.
  explicit Upstream(Handler handler);
  ~Upstream();  // stop()
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  // Closes the listener and every open connection, joins the threads.
  void stop();

  uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:PORT"

  uint64_t connections() const { return connections_.load(); }
  uint64_t requests() const { return requests_.load(); }
  uint64_t bytes_received() const { return bytes_.load(); }
  std::vector<UpstreamRequest> received() const;  // heads (and small bodies), in order
  std::optional<UpstreamRequest> last() const;
  // Polls until requests() >= n; false on timeout.
  bool wait_requests(uint64_t n, Millis timeout) const;

  // Bytes a handler stored with note() (e.g. what arrived after a half-close).
  void note(std::string_view text);
  std::string notes() const;

 private:
  friend class UpstreamConn;
  void accept_loop();
  void record(const UpstreamRequest& request);

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bytes_{0};
  mutable std::mutex mutex_;
  std::vector<UpstreamRequest> received_;
  std::string notes_;
  std::vector<int> open_fds_;  // shut down by stop() to unblock handlers
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// ---- ready-made handlers and response helpers ----

// "HTTP/1.1 <status> <reason>\r\n" + headers + Content-Length + body.
std::string http_response(int status, std::string_view body, std::string_view extra_headers = {});

// Serves requests in a loop (keep-alive) until the client closes: 200 with the
// request body echoed back and "X-Upstream-Name: <name>", "X-Upstream-Conn: <id>",
// "X-Upstream-Target: <target>". Honours
// "Connection: close" from the proxy. Targets: /status/NNN answers NNN;
// /sleep/MS waits MS milliseconds first.
Upstream::Handler echo_handler(std::string name = "up");

}  // namespace sluice::testing
