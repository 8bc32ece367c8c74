#include "tests/integration/sluice_fixture.hpp"

#include <cstdlib>
#include <thread>

namespace sluice::testing {

std::string sluice_binary() {
  const char* env = std::getenv("SLUICE_TEST_BINARY");
  return env != nullptr && *env != '\0' ? env : SLUICE_BINARY_PATH;
}

std::string TcpConfig::to_yaml() const {
  std::string y;
  y += "workers: " + workers + "\n";
  y += "listeners:\n";
  y += "  - name: t\n";
  y += "    listen: 127.0.0.1:" + std::to_string(listen_port) + "\n";
  y += "    protocol: tcp\n";
  y += "    cluster: c\n";
  y += "    timeouts: { connect: " + connect_timeout + ", idle: " + idle_timeout + " }\n";
  y += "    retries: { attempts: " + std::to_string(retry_attempts) + " }\n";
  y += "clusters:\n";
  y += "  - name: c\n";
  y += "    balancer: { type: " + balancer + " }\n";
  y += "    endpoints:\n";
  for (const auto& e : endpoints) y += "      - { address: " + e + " }\n";
  y += extra;
  return y;
}

void SluiceTest::TearDown() {
  if (sluice_ && sluice_->pid() > 0) {
    ExitStatus st = stop_sluice();
    EXPECT_TRUE(st.success()) << "sluice did not exit cleanly on SIGTERM: " << st.to_string()
                              << "\n"
                              << sluice_->describe();
  }
  if (HasFailure()) {
    dir_.keep();
    std::printf("[ kept ] configs and logs in %s\n", dir_.path().c_str());
  }
}

ExitStatus SluiceTest::stop_sluice() {
  return sluice_->stop(Millis(10000));
}

Backend& SluiceTest::add_backend(const BackendOptions& options) {
  backends_.push_back(start_backend(dir_, options));
  return backends_.back();
}

bool SluiceTest::start_sluice(TcpConfig config) {
  if (config.listen_port == 0) config.listen_port = free_loopback_port();
  port_ = config.listen_port;
  std::string path = dir_.write("sluice.yaml", config.to_yaml());
  std::vector<std::string> argv = launcher_;
  argv.insert(argv.end(), {sluice_binary(), "--config", path});
  sluice_ = Process::spawn(argv, dir_.path(), "sluice");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (connect_loopback(port_, Millis(200)).valid()) return true;
    if (!sluice_->running()) break;
    std::this_thread::sleep_for(Millis(5));
  }
  ADD_FAILURE() << "sluice is not accepting on port " << port_ << " ("
                << (sluice_->running() ? "still running" : "exited") << ")\n"
                << "config:\n"
                << config.to_yaml() << sluice_->describe();
  return false;
}

Socket SluiceTest::connect(Millis timeout) {
  std::string error;
  Socket s = connect_loopback(port_, timeout, &error);
  EXPECT_TRUE(s.valid()) << "connect to sluice on port " << port_ << ": " << error;
  return s;
}

}  // namespace sluice::testing
