// The rendered text passes `promtool check metrics` (parser and lint), and every family the
// dashboard relies on is there with its HELP.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "proxy/metrics/exposition.hpp"

namespace sluice::proxy::metrics {
namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";

// A registry with every kind of series, some with awkward label values.
std::string render_everything() {
  Registry r(3);
  r.set_build_version("0.1.0");
  r.config_loaded("0123abcd", std::chrono::system_clock::now());
  r.reload_succeeded("4567ef01", std::chrono::system_clock::now());
  r.reload_failed();
  r.set_access_log_counts(1000, 2);
  auto web = r.listener("web", "http");
  auto odd = r.listener("we\"ird\\ name\n", "tcp");
  auto route = r.route("web", "users", "api");
  auto unmatched = r.route("web", "", "");
  auto cluster = r.cluster("api");
  auto policy = r.rate_limit("per_ip");
  for (unsigned w = 0; w < 3; ++w) {
    web->per_worker.at(w).connections.add(3);
    web->per_worker.at(w).active.add(1);
    odd->per_worker.at(w).bytes_received.add(10);
    for (int i = 0; i < 5; ++i) route->per_worker.at(w).count(method_index("GET"), 200);
    unmatched->per_worker.at(w).count(method_index("GET"), 404);
    route->per_worker.at(w).duration.observe_ns(3'000'000 * (w + 1));
    cluster->per_worker.at(w).requests.add(5);
    cluster->per_worker.at(w).duration.observe_ns(2'000'000 * (w + 1));
    policy->per_worker.at(w).limited.add(1);
  }
  limiter::CircuitBreakerStats b;
  b.state = limiter::BreakerState::open;
  b.opened_by_ratio = 1;
  std::vector<ClusterStatus> clusters = {
      {.name = "api",
       .breaker = b,
       .outlier_ejections = 1,
       .endpoints = {{.address = "10.0.0.1:80"}, {.address = "[::1]:8080", .ejected = true}}}};
  return render(r, clusters);
}

struct Run {
  int status = -1;
  std::string output;
};

// Runs a shell command, output and errors together.
Run run(const std::string& command) {
  Run result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) result.output.append(buf, n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(Promtool, CheckMetricsPassesWithoutLint) {
  // Missing promtool is a broken test environment, not a reason to skip.
  ASSERT_EQ(access(kPromtool, X_OK), 0) << kPromtool << " missing: apt-get install prometheus";
  char path[] = "/tmp/sluice_metrics_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  auto text = render_everything();
  std::ofstream(path) << text;

  auto result = run(std::string(kPromtool) + " check metrics < " + path);
  unlink(path);
  EXPECT_EQ(result.status, 0) << result.output << "\n" << text;
  EXPECT_EQ(result.output, "") << text;
}

TEST(Promtool, CatchesBrokenExposition) {
  // Guards the test above: promtool must really be reading the file.
  ASSERT_EQ(access(kPromtool, X_OK), 0);
  auto result =
      run("printf '# TYPE x counter\\nx 1\\n' | " + std::string(kPromtool) + " check metrics");
  EXPECT_NE(result.output, "");
}

TEST(Promtool, EveryFamilyIsPresentWithHelp) {
  auto text = render_everything();
  std::map<std::string, std::string> help;
  std::set<std::string> typed;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string hash, kind, name, rest;
    words >> hash >> kind >> name;
    std::getline(words, rest);
    if (hash != "#") continue;
    if (kind == "HELP") help[name] = rest;
    if (kind == "TYPE") typed.insert(name);
  }
  const char* expected[] = {"sluice_build_info",
                            "sluice_process_start_time_seconds",
                            "sluice_config_info",
                            "sluice_config_reloads_total",
                            "sluice_config_last_reload_success_timestamp_seconds",
                            "sluice_downstream_connections_total",
                            "sluice_downstream_connections_active",
                            "sluice_downstream_bytes_received_total",
                            "sluice_downstream_bytes_sent_total",
                            "sluice_http_requests_total",
                            "sluice_http_request_duration_seconds",
                            "sluice_upstream_requests_total",
                            "sluice_upstream_responses_total",
                            "sluice_upstream_connect_failures_total",
                            "sluice_upstream_retries_total",
                            "sluice_upstream_timeouts_total",
                            "sluice_upstream_connections_active",
                            "sluice_upstream_bytes_sent_total",
                            "sluice_upstream_bytes_received_total",
                            "sluice_upstream_request_duration_seconds",
                            "sluice_rate_limit_decisions_total",
                            "sluice_circuit_breaker_state",
                            "sluice_circuit_breaker_transitions_total",
                            "sluice_circuit_breaker_rejected_total",
                            "sluice_outlier_ejections_total",
                            "sluice_endpoint_healthy",
                            "sluice_endpoint_ejected",
                            "sluice_endpoint_requests_in_flight",
                            "sluice_endpoint_weight",
                            "sluice_endpoint_series_dropped",
                            "sluice_access_log_lines_total",
                            "sluice_access_log_dropped_total"};
  for (const char* name : expected) {
    EXPECT_TRUE(typed.count(name)) << name;
    EXPECT_GT(help[name].size(), 10u) << name;
  }
  EXPECT_EQ(typed.size(), help.size());
}

}  // namespace
}  // namespace sluice::proxy::metrics
