// The shape of an HTTP integration test: start upstreams, write an HTTP
// listener config with routes, run the real sluice binary on it, talk HTTP/1.1
// to it over raw loopback sockets (so malformed and pipelined requests go out
// byte for byte), and check it exits cleanly afterwards. Test thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/socket.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::testing {

// Path of the sluice binary under test: $SLUICE_TEST_BINARY if set, else this tree's.
std::string http_it_sluice_binary();

struct ClusterSpec {
  std::string name;
  std::vector<std::string> endpoints;  // "127.0.0.1:PORT"
  std::string balancer = "round_robin";
  std::string extra = {};  // further lines of the cluster's map, e.g. "    pool: { max_idle: 0 }\n"
};

// One HTTP listener. Routes are YAML flow maps, one per route, e.g.
// `{ match: { path_prefix: / }, cluster: a }`.
struct HttpConfig {
  std::string workers = "1";  // one worker: its upstream pool is the one a test counts
  // What the listener binds ("[::]": IPv4 and IPv6 clients on one dual-stack socket).
  std::string listen_host = "127.0.0.1";
  std::vector<std::string> routes;
  std::vector<ClusterSpec> clusters;
  std::string timeouts = "{ connect: 1s, request: 10s, idle: 30s }";
  std::string retries = "{ attempts: 0 }";
  std::string extra;  // appended verbatim at the top level (e.g. rate_limits:)
  // Further lines of the listener's map, e.g. "    max_connections: 2\n".
  std::string listener_extra;

  std::string to_yaml(uint16_t port) const;
};

// A parsed HTTP response as the client received it.
struct Response {
  std::string version;
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string raw_head;

  std::optional<std::string> header(std::string_view name) const;
  size_t count(std::string_view name) const;
  bool chunked() const;
};

// A client connection that speaks HTTP/1.1 over a raw socket: requests are
// sent verbatim, responses are parsed with their framing (Content-Length,
// chunked, or until close) so several can be read back from one connection.
class HttpClient {
 public:
  HttpClient() = default;
  explicit HttpClient(Socket socket) : socket_(std::move(socket)) {}

  bool valid() const { return socket_.valid(); }
  const Socket& socket() const { return socket_; }

  bool send(std::string_view data, Millis timeout = Millis(10000));
  // One response; `head_request` says the request was HEAD (no body follows).
  // nullopt on EOF, reset or timeout before a whole response; *error says which.
  std::optional<Response> read_response(Millis timeout = Millis(10000), bool head_request = false,
                                        std::string* error = nullptr);
  // Only the head; the body is left for stream_body().
  std::optional<Response> read_head(Millis timeout, std::string* error = nullptr);
  // Streams a Content-Length body of `length` bytes to `consumer`.
  bool stream_body(uint64_t length, const std::function<void(const char*, size_t)>& consumer,
                   Millis timeout);
  // Waits for the peer to close. eof/reset: closed; timeout: still open;
  // limit: it sent more bytes (kept in *extra).
  StreamEnd wait_closed(Millis timeout, std::string* extra = nullptr);
  // Bytes already received but not consumed by a parsed response.
  const std::string& pending() const { return buf_; }
  // Reads whatever arrives within `timeout` (at most `limit` bytes) into pending().
  void read_for(Millis timeout, size_t limit = 1 << 20);
  bool read_until(std::string_view marker, Millis timeout);
  std::string take_pending();
  bool eof() const { return eof_; }  // the peer's FIN has been read

  void shutdown_write();

 private:
  // Adds received bytes to buf_. false on EOF (sets eof_), reset or timeout.
  bool fill(std::chrono::steady_clock::time_point deadline, std::string* error);

  Socket socket_;
  std::string buf_;
  bool eof_ = false;
};

// Serializes a simple request: "METHOD target HTTP/1.1", Host, extra lines, body
// with Content-Length when non-empty.
std::string request(std::string_view method, std::string_view target, std::string_view host = "t",
                    std::string_view extra_headers = {}, std::string_view body = {});

class HttpSluiceTest : public ::testing::Test {
 protected:
  HttpSluiceTest() : dir_("httpit") {}
  // Stops sluice with SIGTERM and expects exit status 0; keeps the temp dir
  // (and says where) when the test failed.
  void TearDown() override;

  // Writes the config, runs `sluice --config`, waits until the listener accepts.
  // Adds a failure and returns false when sluice does not come up.
  bool start_sluice(const HttpConfig& config);
  ExitStatus stop_sluice();

  uint16_t port() const { return port_; }
  Process& sluice() { return *sluice_; }
  HttpClient connect(Millis timeout = Millis(5000));
  // One request on a fresh connection; the response or a failure.
  std::optional<Response> fetch(std::string_view raw_request, bool head_request = false);

  TempDir dir_;
  std::optional<Process> sluice_;
  uint16_t port_ = 0;
};

}  // namespace sluice::testing
