// The shape of a file discovery test: three backends (a, b, c), one HTTP listener routing
// everything to cluster `c`, whose endpoints come from a file the test rewrites atomically
// (write elsewhere, rename over), as editors and config management do. Test thread only.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {

class FileDiscoveryTest : public ObsTest {
 protected:
  void SetUp() override {
    add_backend("a");
    add_backend("b");
    add_backend("c");
    port_ = free_loopback_port();
    endpoints_path_ = dir_.file("endpoints.yaml");
  }

  // An HTTP listener routing everything to cluster `c`, whose `discovery` map is `discovery`.
  std::string http_yaml(const std::string& discovery, const std::string& workers = "1") {
    return "workers: " + workers + "\n" + admin_yaml() +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    timeouts: { request: 10s }\n"
           "    routes: [ { name: all, match: { path_prefix: / }, cluster: c } ]\n"
           "clusters:\n"
           "  - name: c\n"
           "    discovery: { " +
           discovery + " }\n";
  }

  // The config; `guard` adds keys to the discovery map (e.g. "confirm_window: 1s").
  std::string yaml(const std::string& guard = "", const std::string& workers = "1") {
    return http_yaml("file: " + endpoints_path_ + (guard.empty() ? "" : ", " + guard), workers);
  }

  // A TCP listener in front of cluster `c` (backends started in "echo" mode by the test).
  std::string tcp_yaml(const std::string& drain_timeout) {
    return "workers: 1\ndrain_timeout: " + drain_timeout + "\n" + admin_yaml() +
           "listeners:\n"
           "  - { name: tcp, listen: 127.0.0.1:" +
           std::to_string(port_) +
           ", protocol: tcp, cluster: c }\n"
           "clusters:\n"
           "  - name: c\n"
           "    discovery: { file: " +
           endpoints_path_ + ", hold_fraction: 1 }\n";
  }

  // The endpoint file lists these backends (indexes into backends_).
  void write_endpoints(const std::vector<size_t>& which) {
    std::string text;
    for (size_t i : which) text += "- { address: " + backends_[i].address() + " }\n";
    if (which.empty()) text = "[]\n";
    const std::string tmp = endpoints_path_ + ".tmp";
    std::ofstream(tmp, std::ios::trunc) << text;
    std::filesystem::rename(tmp, endpoints_path_);
  }

  Response get(const std::string& path = "/") {
    HttpClient c = connect_http(port_);
    return roundtrip(c, request("GET", path));
  }
  // "a" for "backend a\n"; the status when it is not a 200.
  static std::string backend_of(const Response& r) {
    if (r.status != 200) return "status " + std::to_string(r.status);
    return r.body.size() > 9 ? r.body.substr(8, r.body.size() - 9) : r.body;
  }
  // Requests until one is answered by `name`; false after `timeout`.
  bool wait_for_backend(const std::string& name, Millis timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (backend_of(get()) == name) return true;
      std::this_thread::sleep_for(Millis(2));
    }
    return false;
  }

  // Polls GET /clusters until the running snapshot's cluster `c` has `n` endpoints (a
  // discovered set is published a moment after the source delivered it); the last count.
  size_t wait_published(size_t n, Millis timeout = Millis(3000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t count = 0;
    for (;;) {
      const AdminReply r = admin("GET", "/clusters");
      const auto at = r.body.find("\"endpoints\":[");
      count = at == std::string::npos ? 0 : count_occurrences(r.body.substr(at), "\"address\"");
      if (count == n || std::chrono::steady_clock::now() >= deadline) return count;
      std::this_thread::sleep_for(Millis(5));
    }
  }

  uint16_t port_ = 0;
  std::string endpoints_path_;
};

}  // namespace sluice::testing
