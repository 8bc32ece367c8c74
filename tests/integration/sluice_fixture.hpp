// The shared shape of an integration test: start backends, write a config,
// run the real sluice binary on it, and make sure it exits cleanly afterwards.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/backend_launcher.hpp"
#include "tests/support/process.hpp"
#include "tests/support/socket.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::testing {

// Path of the sluice binary under test: $SLUICE_TEST_BINARY if set (to try a
// different build), else the one this tree built.
std::string sluice_binary();

// One TCP listener in front of one cluster: the config shape of the L4 tests.
struct TcpConfig {
  std::string workers = "1";
  uint16_t listen_port = 0;            // 0: pick a free one
  std::vector<std::string> endpoints;  // "127.0.0.1:PORT"
  std::string balancer = "round_robin";
  std::string connect_timeout = "500ms";
  std::string idle_timeout = "5s";
  int retry_attempts = 2;
  std::string extra = {};  // appended verbatim at the top level (e.g. admin:)

  std::string to_yaml() const;
};

class SluiceTest : public ::testing::Test {
 protected:
  SluiceTest() : dir_("it") {}
  // Stops sluice with SIGTERM and expects exit status 0; keeps the temp dir
  // (and says where) when the test failed.
  void TearDown() override;

  Backend& add_backend(const BackendOptions& options);
  // Writes the config, runs `sluice --config`, waits until the listener
  // accepts. Adds a failure and returns false when sluice does not come up.
  bool start_sluice(TcpConfig config);
  // Stops sluice now; the result is what TearDown would have checked.
  ExitStatus stop_sluice();

  uint16_t port() const { return port_; }
  Process& sluice() { return *sluice_; }
  Socket connect(Millis timeout = Millis(5000));

  // Prepended to the sluice command line, e.g. {"prlimit", "--nofile=64:64"}.
  std::vector<std::string> launcher_;
  TempDir dir_;
  std::deque<Backend> backends_;  // deque: references stay valid as it grows
  std::optional<Process> sluice_;
  uint16_t port_ = 0;
};

}  // namespace sluice::testing
