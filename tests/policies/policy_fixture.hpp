// The shared shape of the policy tests: real backends, a real redis-server when
// needed, and one or more real sluice processes run from a YAML config the test
// writes (HTTP routes, balancers, rate limits, redis). Also a small blocking
// HTTP/1.1 client, because these tests count responses and read their headers.
// Test thread only, except HttpClient, which one thread at a time may own.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/backend_launcher.hpp"
#include "tests/support/process.hpp"
#include "tests/support/socket.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::testing {

// $SLUICE_TEST_BINARY if set, else the sluice this tree built.
std::string policy_sluice_binary();

struct HttpResponse {
  int status = 0;                              // 0: no (complete) response; `error` says why
  std::map<std::string, std::string> headers;  // names lower-cased; last one wins
  std::string body;
  std::string error;

  bool ok() const { return status != 0; }
  std::string header(const std::string& lower_name) const;
  // "backend NAME\n" from sluice-test-backend -> "NAME"; "" for anything else.
  std::string backend() const;
};

// One keep-alive HTTP/1.1 connection to 127.0.0.1:port (optionally from
// another loopback source address). Responses must carry Content-Length, as
// sluice's own and the test backend's all do.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::string source_ip = "");

  // Sends one request and reads its response; reconnects first when the last
  // response closed the connection (or none is open). extra_headers: full
  // "Name: value\r\n" lines.
  HttpResponse get(const std::string& target, const std::string& extra_headers = "",
                   Millis timeout = Millis(5000));
  // Whether the connection the last request used is still open (no reconnect).
  bool connected() const { return socket_.valid(); }
  int connects() const { return connects_; }

 private:
  bool ensure_connected(std::string* error);

  uint16_t port_;
  std::string source_ip_;
  Socket socket_;
  std::string buffered_;  // bytes read past the last response
  int connects_ = 0;
};

// Connects to 127.0.0.1:port from `source_ip` (any 127/8 address works on
// Linux loopback), so tests can play many clients with distinct IPs.
Socket connect_from(const std::string& source_ip, uint16_t port, Millis timeout,
                    std::string* error = nullptr);

// One HTTP request over a fresh connection (`Connection: close`) through a tcp
// listener, answered by an http-mode backend: returns the backend's name, or
// "" when the connection was refused/closed without an answer.
std::string tcp_fetch_backend(uint16_t port, const std::string& source_ip = "127.0.0.1",
                              Millis timeout = Millis(5000));

// A throwaway redis-server on a free loopback port.
class RedisProcess {
 public:
  // Empty when redis-server is not installed.
  static std::string binary();
  // Starts it and waits until it accepts connections; throws on failure.
  RedisProcess(const TempDir& dir, const std::string& label = "redis");
  ~RedisProcess() { kill(); }
  uint16_t port() const { return port_; }
  std::string address() const { return loopback_address(port_); }
  // SIGKILL: a crash, no goodbye on the connections.
  void kill();

 private:
  std::optional<Process> process_;
  uint16_t port_ = 0;
};

class PolicyTest : public ::testing::Test {
 protected:
  PolicyTest() : dir_("pol") {}
  // Stops every sluice with SIGTERM and expects exit status 0 from each; keeps
  // the temp dir (and says where) when the test failed.
  void TearDown() override;

  // An http-mode backend answering "backend NAME\n", with a stats file.
  Backend& add_http_backend(const std::string& name);

  // Writes `yaml` to sluice-N.yaml, runs `sluice --config`, and waits for its
  // "sluice started" line (so no probe connection disturbs a balancer cursor
  // or spends a rate-limit token). Returns the index of the process, or -1
  // after adding a failure.
  int start_sluice(const std::string& yaml);
  Process& sluice(int index = 0) { return sluices_[static_cast<size_t>(index)]; }
  // Stops one sluice now and expects a clean exit.
  void stop_sluice(int index = 0);

  TempDir dir_;
  std::deque<Backend> backends_;  // deque: references stay valid as it grows
  std::deque<Process> sluices_;
};

// YAML pieces. Endpoint lists: "      - { address: A }" lines for each address.
std::string endpoints_yaml(const std::vector<std::string>& addresses,
                           const std::vector<int>& weights = {});
// One worker, an http listener on `port` whose one route goes to cluster `c` (`backend`) under
// rate limit `limit`, and the "rate_limits:" key line: the caller appends the limit's entry.
std::string limited_route_yaml(uint16_t port, const std::string& limit, const std::string& backend);
// `requests` entries of backend(): how many answers each backend name gave.
std::map<std::string, int> count_by_backend(const std::vector<HttpResponse>& responses);

}  // namespace sluice::testing
