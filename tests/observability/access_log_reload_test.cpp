// The access log across reloads: `sample` may change on reload; turning the
// access log on or off needs a restart like changing its path or format, so a
// reload that tries applies the rest, keeps logging as before and says so (the
// answer names log.access, sluice_config_restart_pending is 1).
// One worker, so the log's order is the order requests finished in: a last
// "barrier" request whose line shows up proves every earlier line is written.
#include <thread>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

class AccessLogReloadTest : public ObsTest {
 protected:
  std::string yaml(const std::string& log_section) {
    if (backends_.empty()) add_backend("b0");
    if (port_ == 0) port_ = free_loopback_port();
    return "workers: 1\n" + admin_yaml() + log_section +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    routes:\n"
           "      - { name: app, match: { path_prefix: / }, cluster: c }\n"
           "clusters:\n"
           "  - { name: c, endpoints: [ { address: " +
           backends_[0].address() + " } ] }\n";
  }

  // Lines sluice wrote to its stdout (the access log with path: stdout).
  std::vector<boost::json::object> stdout_lines() {
    std::string error;
    auto lines = parse_access_log(sluice().stdout_text(), &error);
    EXPECT_EQ(error, "");
    return lines;
  }
  // Polls stdout until it holds at least `n` access log lines.
  std::vector<boost::json::object> wait_stdout_lines(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + Millis(5000);
    auto lines = stdout_lines();
    while (lines.size() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(Millis(10));
      lines = stdout_lines();
    }
    return lines;
  }
  void get(const std::string& target) {
    EXPECT_EQ(fetch_once(port_, request("GET", target)).status, 200) << target;
  }

  uint16_t port_ = 0;
};

std::vector<std::string> paths(const std::vector<boost::json::object>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.push_back(field(l, "path"));
  return out;
}

TEST_F(AccessLogReloadTest, SampleZeroLogsNothingUntilAReloadSetsItBack) {
  const std::string log = "log: { access: { path: " + dir_.file("access.log") + ", sample: 0 } }\n";
  ASSERT_TRUE(start_sluice(yaml(log)));
  for (int i = 0; i < 5; ++i) get("/unlogged");
  write_config(yaml("log: { access: { path: " + dir_.file("access.log") + ", sample: 1 } }\n"));
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  get("/barrier");
  auto lines = wait_log_lines(dir_.file("access.log"), 1);
  EXPECT_EQ(paths(lines), std::vector<std::string>{"/barrier"});
  EXPECT_EQ(wait_metric("sluice_access_log_lines_total", 1), 1);
  EXPECT_EQ(scrape().sum(
                "sluice_http_requests_total",
                {{"listener", "web"}, {"route", "app"}, {"cluster", "c"}, {"code_class", "2xx"}}),
            6);
}

TEST_F(AccessLogReloadTest, RemovingTheAccessLogWaitsForARestartAndLoggingGoesOn) {
  ASSERT_TRUE(start_sluice(yaml("log: { access: { path: stdout } }\n")));
  get("/before");
  ASSERT_EQ(wait_stdout_lines(1).size(), 1u);

  write_config(yaml(""));
  AdminReply r = admin("POST", "/reload");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("restart pending: log.access: off waits"), std::string::npos) << r.body;
  get("/after");
  EXPECT_EQ(paths(wait_stdout_lines(2)), (std::vector<std::string>{"/before", "/after"}));
  EXPECT_EQ(scrape().get("sluice_config_restart_pending"), 1);
}

TEST_F(AccessLogReloadTest, AddingAnAccessLogWaitsForARestart) {
  ASSERT_TRUE(start_sluice(yaml("")));
  write_config(yaml("log: { access: { path: stdout } }\n"));
  AdminReply r = admin("POST", "/reload");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("restart pending: log.access: stdout (json) waits"), std::string::npos)
      << r.body;
  // Still the running config: no access log.
  AdminReply config = admin("GET", "/config");
  EXPECT_TRUE(boost::json::parse(config.body).at("log").at("access").is_null()) << config.body;
  EXPECT_EQ(scrape().get("sluice_config_restart_pending"), 1);
}

}  // namespace
}  // namespace sluice::testing
