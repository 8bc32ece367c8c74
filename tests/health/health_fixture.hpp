// The shape of a health check test: backends a, b, c whose GET /health answers the status in
// a file (none: 200), one HTTP listener routing everything to cluster `c` with an HTTP check
// on /health. Test thread only.
#pragma once

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {

class HealthTest : public ObsTest {
 protected:
  void SetUp() override {
    for (const char* name : {"a", "b", "c"})
      backends_.push_back(start_backend(dir_, {.mode = "http", .name = name, .health = true}));
    port_ = free_loopback_port();
  }

  // `cluster_extra`: further keys of the cluster's map; `endpoints`: its endpoints key.
  std::string yaml(const std::string& cluster_extra = "",
                   const std::string& check =
                       "{ http: { path: /health }, interval: 300ms, "
                       "timeout: 200ms, healthy: 2, unhealthy: 2 }") {
    std::string endpoints;
    for (const Backend& b : backends_)
      endpoints += std::string(endpoints.empty() ? "" : ", ") + "{ address: " + b.address() + " }";
    return "workers: 1\n" + admin_yaml() +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    routes: [ { name: all, match: { path_prefix: / }, cluster: c } ]\n"
           "clusters:\n"
           "  - name: c\n"
           "    endpoints: [ " +
           endpoints + " ]\n    health_check: " + check + "\n" + cluster_extra;
  }

  // Backend `i`'s /health answers `status` from now on (0: 200 again).
  void set_health(size_t i, int status) {
    if (status == 0) {
      std::remove(backends_[i].health_path.c_str());
      return;
    }
    const std::string tmp = backends_[i].health_path + ".tmp";
    std::ofstream(tmp, std::ios::trunc) << status << "\n";
    std::rename(tmp.c_str(), backends_[i].health_path.c_str());
  }

  // "a" for "backend a\n"; "status N" when it is not a 200.
  std::string get_backend() {
    HttpClient c = connect_http(port_);
    const Response r = roundtrip(c, request("GET", "/"));
    if (r.status != 200) return "status " + std::to_string(r.status);
    return r.body.size() > 9 ? r.body.substr(8, r.body.size() - 9) : r.body;
  }
  // How many of `n` requests each backend answered.
  std::map<std::string, int> spread(int n) {
    std::map<std::string, int> out;
    for (int i = 0; i < n; ++i) ++out[get_backend()];
    return out;
  }
  // Polls /metrics until sluice_endpoint_healthy of backend `i` is `value`; the last value.
  double wait_healthy(size_t i, double value, Millis timeout = Millis(5000)) {
    return wait_metric(
        "sluice_endpoint_healthy{cluster=\"c\",endpoint=\"" + backends_[i].address() + "\"}", value,
        timeout);
  }

  uint16_t port_ = 0;
};

}  // namespace sluice::testing
