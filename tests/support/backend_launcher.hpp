// Starts sluice-test-backend instances (see backend.cpp) for a test and reads
// back what they report. Test thread only.
#pragma once

#include <cstdint>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace sluice::testing {

struct BackendOptions {
  std::string mode = "echo";  // echo | http | sink | source
  std::string name = "backend";
  uint64_t bytes = 0;   // source
  uint64_t seed = 1;    // source
  bool stats = false;   // write <dir>/<name>.stats on every accept
  bool health = false;  // GET /health answers the status in <dir>/<name>.health (200: none)
};

struct Backend {
  Process process;
  uint16_t port = 0;
  std::string stats_path;   // empty without BackendOptions::stats
  std::string health_path;  // empty without BackendOptions::health

  std::string address() const;  // "127.0.0.1:PORT"
  // Connections accepted so far, from the stats file; 0 before the first one.
  uint64_t connections() const;
};

// Path of the sluice-test-backend executable built next to this library.
std::string backend_binary();

// Starts a backend on an ephemeral loopback port and waits until it listens.
// Throws std::runtime_error (with its output) when it does not come up.
Backend start_backend(const TempDir& dir, const BackendOptions& options);

}  // namespace sluice::testing
