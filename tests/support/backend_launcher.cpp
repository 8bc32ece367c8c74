#include "tests/support/backend_launcher.hpp"

#include <stdexcept>
#include <vector>

#include "tests/support/socket.hpp"

namespace sluice::testing {

std::string Backend::address() const {
  return loopback_address(port);
}

uint64_t Backend::connections() const {
  std::string text = read_file(stats_path);
  const std::string key = "connections ";
  if (text.rfind(key, 0) != 0) return 0;
  return std::stoull(text.substr(key.size()));
}

std::string backend_binary() {
  return SLUICE_TEST_BACKEND_PATH;
}

Backend start_backend(const TempDir& dir, const BackendOptions& options) {
  std::vector<std::string> argv = {backend_binary(), "--listen", "127.0.0.1:0", "--mode",
                                   options.mode,     "--name",   options.name};
  if (options.mode == "source") {
    argv.insert(argv.end(),
                {"--bytes", std::to_string(options.bytes), "--seed", std::to_string(options.seed)});
  }
  Backend b;
  if (options.stats) {
    b.stats_path = dir.file(options.name + ".stats");
    argv.insert(argv.end(), {"--stats-file", b.stats_path});
  }
  if (options.health) {
    b.health_path = dir.file(options.name + ".health");
    argv.insert(argv.end(), {"--health-file", b.health_path});
  }
  b.process = Process::spawn(argv, dir.path(), "backend-" + options.name);
  auto port = b.process.wait_listening(std::chrono::seconds(10));
  if (!port) throw std::runtime_error("backend did not start\n" + b.process.describe());
  b.port = *port;
  return b;
}

}  // namespace sluice::testing
