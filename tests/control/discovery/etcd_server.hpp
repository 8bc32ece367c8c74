// A real etcd (Debian's etcd-server) on loopback for the etcd source tests, started by the
// test with its own data directory and ports, and a blocking client for its JSON gateway to
// change keys behind the source's back. Test thread only (put() may run on one other thread
// while the test thread runs the loop).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::testing {

class EtcdServer {
 public:
  // Starts etcd in `dir` on two free loopback ports; throws when it does not come up.
  explicit EtcdServer(const TempDir& dir);
  ~EtcdServer();

  void kill();    // SIGKILL, then reaped
  void start();   // (again) on the same ports and data: revisions survive
  void pause();   // SIGSTOP: the server holds connections but says nothing
  void resume();  // SIGCONT
  uint16_t port() const { return client_port_; }
  std::string address() const;  // "127.0.0.1:PORT"

  // Key operations through the gateway; each returns the store's revision after it.
  int64_t put(const std::string& key, const std::string& value);
  int64_t remove(const std::string& key);
  int64_t revision();
  void compact(int64_t revision);

 private:
  // POSTs `body` to `path`; the answer's body (throws unless HTTP 200).
  std::string call(const std::string& path, const std::string& body);

  const TempDir& dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  int starts_ = 0;
  std::optional<Process> process_;
};

}  // namespace sluice::testing
