// Reloads under load: four client threads (two on keep-alive connections, two
// opening a connection per request) send requests for ~2 s while the config is
// reloaded five times. Not one request may fail, and the counters, which keep
// counting across reloads, and the access log must account for every request
// and connection.
#include <atomic>
#include <mutex>
#include <thread>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

class ReloadLoadTest : public ObsTest {
 protected:
  std::string yaml(int version) {
    // Versions differ in a direct response body and in the order of two routes
    // to the same cluster, so every reload builds a really different snapshot.
    const std::string app = "      - { name: app, match: { path_prefix: /app }, cluster: c }\n";
    const std::string api = "      - { name: api, match: { path_prefix: /api }, cluster: c }\n";
    return "workers: 2\n" + admin_yaml() + "log: { access: { path: " + dir_.file("access.log") +
           " } }\n" +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    routes:\n" +
           (version % 2 == 0 ? app + api : api + app) +
           "      - { name: direct, match: { path_prefix: /direct }, direct_response: { body: v" +
           std::to_string(version) +
           " } }\n"
           "clusters:\n"
           "  - { name: c, endpoints: [ { address: " +
           backends_[0].address() + " }, { address: " + backends_[1].address() + " } ] }\n";
  }

  uint16_t port_ = 0;
};

struct Tally {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> connections{0};
  std::mutex mutex;
  std::vector<std::string> failures;

  void fail(std::string what) {
    std::lock_guard lock(mutex);
    if (failures.size() < 20) failures.push_back(std::move(what));
  }
};

// One request; false (and a recorded failure) unless a 200 with the expected body came.
bool one_request(HttpClient& c, int n, Tally& tally, bool* server_closes) {
  static const char* const kTargets[] = {"/app/x", "/api/y", "/direct"};
  const char* target = kTargets[n % 3];
  if (!c.send(request("GET", target))) {
    tally.fail(std::string("send failed: ") + target);
    return false;
  }
  std::string error;
  auto r = c.read_response(Millis(5000), false, &error);
  if (!r) {
    tally.fail(std::string("no response to ") + target + ": " + error);
    return false;
  }
  const bool body_ok = n % 3 == 2 ? r->body.starts_with("v") : r->body.starts_with("backend ");
  if (r->status != 200 || !body_ok) {
    tally.fail(std::string(target) + ": " + std::to_string(r->status) + " " + r->body);
    return false;
  }
  tally.requests.fetch_add(1);
  *server_closes = r->header("connection").value_or("") == "close";
  return true;
}

void keep_alive_client(uint16_t port, const std::atomic<bool>& stop, Tally& tally) {
  HttpClient c;
  for (int n = 0; !stop.load(); ++n) {
    if (!c.valid()) {
      std::string error;
      Socket s = connect_loopback(port, Millis(2000), &error);
      if (!s.valid()) {
        tally.fail("connect: " + error);
        return;
      }
      tally.connections.fetch_add(1);
      c = HttpClient(std::move(s));
    }
    bool closes = false;
    if (!one_request(c, n, tally, &closes)) return;
    if (closes) c = HttpClient();  // the server said so: not an error
  }
}

void connection_per_request_client(uint16_t port, const std::atomic<bool>& stop, Tally& tally) {
  for (int n = 0; !stop.load(); ++n) {
    std::string error;
    Socket s = connect_loopback(port, Millis(2000), &error);
    if (!s.valid()) {
      tally.fail("connect: " + error);
      return;
    }
    tally.connections.fetch_add(1);
    HttpClient c(std::move(s));
    bool closes = false;
    if (!one_request(c, n, tally, &closes)) return;
  }
}

TEST_F(ReloadLoadTest, FiveReloadsUnderLoadLoseNoRequest) {
  add_backend("b0");
  add_backend("b1");
  port_ = free_loopback_port();
  ASSERT_TRUE(start_sluice(yaml(0)));

  Tally tally;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back(keep_alive_client, port_, std::cref(stop), std::ref(tally));
    clients.emplace_back(connection_per_request_client, port_, std::cref(stop), std::ref(tally));
  }
  // Five reloads spread over the run (the pauses pace the load, they wait for nothing).
  for (int version = 1; version <= 5; ++version) {
    std::this_thread::sleep_for(Millis(300));
    write_config(yaml(version));
    AdminReply r = admin("POST", "/reload");
    EXPECT_EQ(r.status, 200) << r.body << r.error;
  }
  std::this_thread::sleep_for(Millis(300));
  stop = true;
  for (auto& t : clients) t.join();

  EXPECT_TRUE(tally.failures.empty()) << [&] {
    std::string all;
    for (const auto& f : tally.failures) all += f + "\n";
    return all;
  }();
  EXPECT_GT(tally.requests.load(), 100u) << "the load did not run";

  // The last config runs, and the counters saw every request and connection.
  EXPECT_EQ(fetch_once(port_, request("GET", "/direct")).body, "v5");
  const double requests = static_cast<double>(tally.requests.load() + 1);
  const double connections = static_cast<double>(tally.connections.load() + 1);
  EXPECT_EQ(wait_metric("sluice_downstream_connections_total{listener=\"web\"}", connections),
            connections);
  const auto deadline = Clock::now() + Millis(5000);
  while (scrape_quiet().sum("sluice_http_requests_total") != requests && Clock::now() < deadline &&
         sluice().running()) {
    std::this_thread::sleep_for(Millis(10));
  }
  const MetricSet m = scrape();
  EXPECT_EQ(m.sum("sluice_http_requests_total"), requests);
  EXPECT_EQ(m.sum("sluice_http_requests_total", {{"code_class", "2xx"}}), requests);
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"success\"}"), 5);
  EXPECT_EQ(m.get("sluice_upstream_connect_failures_total{cluster=\"c\"}"), 0);

  // One access log line per request, through every generation of the config.
  EXPECT_EQ(m.get("sluice_access_log_dropped_total"), 0);
  EXPECT_EQ(wait_metric("sluice_access_log_lines_total", requests), requests);
  EXPECT_EQ(static_cast<double>(wait_log_lines(dir_.file("access.log"), size_t(requests)).size()),
            requests);
}

}  // namespace
}  // namespace sluice::testing
