// Hot reload through POST /reload and SIGHUP: new connections get the new
// config, a request in flight finishes on the config it started with (a
// keep-alive connection follows at its next request), limiter state survives
// when its settings do, an invalid file is refused with its reasons while the
// running config keeps serving, and a change that needs a restart waits while
// the rest applies.
#include <signal.h>

#include <filesystem>
#include <regex>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;

struct Version {
  std::string workers = "1";
  std::string body = "v1";    // of the direct response on /hello
  std::string cluster = "a";  // of the /app route
  int burst = 2;              // of the rate limit on /limited
  std::string extra = "";     // appended at the top level
};

class ReloadTest : public ObsTest {
 protected:
  void SetUp() override {
    add_backend("a");
    add_backend("b");
    port_ = free_loopback_port();
  }

  std::string yaml(const Version& v) {
    return "workers: " + v.workers + "\n" + admin_yaml() +
           "listeners:\n"
           "  - name: web\n"
           "    listen: 127.0.0.1:" +
           std::to_string(port_) +
           "\n"
           "    protocol: http\n"
           "    routes:\n"
           "      - { name: hello, match: { path_prefix: /hello }, direct_response: { body: \"" +
           v.body +
           "\" } }\n"
           "      - { name: app, match: { path_prefix: /app }, cluster: " +
           v.cluster +
           " }\n"
           "      - { name: slow, match: { path_prefix: /sleep }, cluster: " +
           v.cluster +
           " }\n"
           "      - name: limited\n"
           "        match: { path_prefix: /limited }\n"
           "        direct_response: { body: ok }\n"
           "        rate_limit: rl\n"
           "clusters:\n"
           "  - { name: a, endpoints: [ { address: " +
           backends_[0].address() +
           " } ] }\n  - { name: b, endpoints: [ { address: " + backends_[1].address() +
           " } ] }\n"
           "rate_limits:\n"
           "  - { name: rl, key: global, rate: 1/min, burst: " +
           std::to_string(v.burst) + " }\n" + v.extra;
  }

  // Writes `v` and POSTs /reload; the reply.
  AdminReply reload(const Version& v) {
    write_config(yaml(v));
    return admin("POST", "/reload");
  }

  std::string body_of(HttpClient& c, const std::string& target) {
    return roundtrip(c, request("GET", target)).body;
  }
  std::string fresh_body(const std::string& target) {
    HttpClient c = connect_http(port_);
    return body_of(c, target);
  }

  uint16_t port_ = 0;
};

TEST_F(ReloadTest, NewConnectionsGetTheNewConfig) {
  ASSERT_TRUE(start_sluice(yaml({})));
  const std::string old_hash = sha256_hex(read_file(config_path_));
  EXPECT_EQ(fresh_body("/hello"), "v1");
  EXPECT_EQ(fresh_body("/app"), "backend a\n");
  const double loaded = scrape().get("sluice_config_last_reload_success_timestamp_seconds");

  AdminReply r = reload({.body = "v2", .cluster = "b"});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "reloaded\n");
  const std::string new_hash = sha256_hex(read_file(config_path_));
  EXPECT_EQ(fresh_body("/hello"), "v2");
  EXPECT_EQ(fresh_body("/app"), "backend b\n");

  // Counters of names that stay keep counting across the reload.
  EXPECT_EQ(
      wait_sum("sluice_http_requests_total",
               {{"listener", "web"}, {"route", "hello"}, {"cluster", ""}, {"code_class", "2xx"}},
               2),
      2);
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_downstream_connections_total{listener=\"web\"}"), 4);
  // (The series with cluster="a" goes once no connection uses the old config.)
  EXPECT_EQ(m.sum("sluice_http_requests_total",
                  {{"listener", "web"}, {"route", "app"}, {"cluster", "b"}, {"code_class", "2xx"}}),
            1);
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"success\"}"), 1);
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"failure\"}"), 0);
  EXPECT_EQ(m.get("sluice_config_info{hash=\"" + new_hash + "\"}"), 1);
  EXPECT_FALSE(m.has("sluice_config_info{hash=\"" + old_hash + "\"}"));
  EXPECT_GE(m.get("sluice_config_last_reload_success_timestamp_seconds"), loaded);
  AdminReply config = admin("GET", "/config");
  EXPECT_EQ(json::parse(config.body).at("source_hash").as_string(), new_hash);
}

TEST_F(ReloadTest, ARequestInFlightFinishesOnTheConfigItStartedWith) {
  ASSERT_TRUE(start_sluice(yaml({})));
  HttpClient c = connect_http(port_);
  ASSERT_TRUE(c.send(request("GET", "/sleep?ms=500")));
  ASSERT_EQ(wait_metric("sluice_upstream_requests_total{cluster=\"a\"}", 1), 1);
  ASSERT_EQ(reload({.body = "v2", .cluster = "b"}).status, 200);
  std::string error;
  auto r = c.read_response(Millis(5000), false, &error);
  ASSERT_TRUE(r.has_value()) << error;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "backend a\n");
}

// DESIGN.md: running connections keep the snapshot they started with until
// their request ends. A keep-alive connection opened before a reload therefore
// runs its next request on the new config (HttpSession::follow_reload).
TEST_F(ReloadTest, AKeepAliveConnectionFollowsTheReloadAtItsNextRequest) {
  ASSERT_TRUE(start_sluice(yaml({})));
  HttpClient before = connect_http(port_);
  EXPECT_EQ(body_of(before, "/hello"), "v1");
  EXPECT_EQ(body_of(before, "/app"), "backend a\n");
  ASSERT_EQ(reload({.body = "v2", .cluster = "b"}).status, 200);
  EXPECT_EQ(fresh_body("/hello"), "v2");
  EXPECT_EQ(body_of(before, "/hello"), "v2");
  EXPECT_EQ(body_of(before, "/app"), "backend b\n");
}

TEST_F(ReloadTest, PooledConnectionsOfTheOldConfigCloseAndStopCounting) {
  ASSERT_TRUE(start_sluice(yaml({})));
  EXPECT_EQ(fresh_body("/app"), "backend a\n");
  EXPECT_EQ(wait_metric("sluice_upstream_connections_active{cluster=\"a\"}", 1), 1);
  // Cluster a is unchanged; the old config's idle pool is closed all the same.
  ASSERT_EQ(reload({.body = "v2"}).status, 200);
  EXPECT_EQ(wait_metric("sluice_upstream_connections_active{cluster=\"a\"}", 0), 0);
  EXPECT_EQ(fresh_body("/app"), "backend a\n");
  EXPECT_EQ(wait_metric("sluice_upstream_connections_active{cluster=\"a\"}", 1), 1);
}

TEST_F(ReloadTest, RateLimitStateSurvivesAReloadThatKeepsItsSettings) {
  ASSERT_TRUE(start_sluice(yaml({.burst = 2})));
  {
    HttpClient c = connect_http(port_);
    for (int expected : {200, 200, 429})
      EXPECT_EQ(roundtrip(c, request("GET", "/limited")).status, expected);
  }
  // Another route's body changes; the limit does not: its bucket stays empty.
  ASSERT_EQ(reload({.body = "v2", .burst = 2}).status, 200);
  EXPECT_EQ(fetch_once(port_, request("GET", "/limited")).status, 429);
  // A new burst converts the bucket (issue #13): it keeps its fill level, so
  // the exhausted client stays exhausted instead of getting a full bucket of 4.
  ASSERT_EQ(reload({.body = "v2", .burst = 4}).status, 200);
  {
    HttpClient c = connect_http(port_);
    for (int expected : {429, 429, 429, 429, 429})
      EXPECT_EQ(roundtrip(c, request("GET", "/limited")).status, expected);
  }
  EXPECT_EQ(wait_metric("sluice_rate_limit_decisions_total{policy=\"rl\",outcome=\"limited\"}", 7),
            7);
  EXPECT_EQ(scrape().get("sluice_rate_limit_decisions_total{policy=\"rl\",outcome=\"admitted\"}"),
            2);
}

TEST_F(ReloadTest, AnInvalidFileIsRefusedWithPositionsAndTheRunningConfigStays) {
  ASSERT_TRUE(start_sluice(yaml({})));
  const std::string old_hash = sha256_hex(read_file(config_path_));

  // A schema error on a known line: the listener's protocol.
  std::string bad = yaml({.body = "v2"});
  const size_t at = bad.find("    protocol: http\n");
  ASSERT_NE(at, std::string::npos);
  bad.replace(at, 18, "    protocol: htp\n");
  const int line = 1 + static_cast<int>(std::count(bad.begin(), bad.begin() + at, '\n'));
  write_config(bad);
  AdminReply r = admin("POST", "/reload");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(config_path_ + ":" + std::to_string(line) + ":15: "), std::string::npos)
      << "no file:line:col for line " << line << " in:\n"
      << r.body;

  // A YAML syntax error: an unclosed flow map.
  write_config(yaml({}) + "rate_limits_broken: { a: 1\n");
  r = admin("POST", "/reload");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(std::regex_search(
      r.body,
      std::regex(std::regex_replace(config_path_, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                 ":[0-9]+:[0-9]+: ")))
      << r.body;

  // The old config is still the running one.
  EXPECT_EQ(fresh_body("/hello"), "v1");
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"failure\"}"), 2);
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"success\"}"), 0);
  EXPECT_EQ(m.get("sluice_config_info{hash=\"" + old_hash + "\"}"), 1);
  EXPECT_EQ(json::parse(admin("GET", "/config").body).at("source_hash").as_string(), old_hash);
  EXPECT_EQ(admin("GET", "/ready").status, 200);

  // Fixed, it loads.
  EXPECT_EQ(reload({.body = "v3"}).status, 200);
  EXPECT_EQ(fresh_body("/hello"), "v3");
  EXPECT_EQ(wait_metric("sluice_config_reloads_total{result=\"success\"}", 1), 1);
}

TEST_F(ReloadTest, ChangesThatNeedARestartWaitWhileTheRestApplies) {
  ASSERT_TRUE(start_sluice(yaml({})));
  EXPECT_EQ(scrape().get("sluice_config_restart_pending"), 0);
  AdminReply r = reload({.workers = "2", .body = "v2"});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("restart pending: workers: 2 waits for a restart; 1 keep running"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(fresh_body("/hello"), "v2");  // everything else applied
  EXPECT_EQ(scrape().get("sluice_config_restart_pending"), 1);
  EXPECT_EQ(json::parse(admin("GET", "/config").body).at("workers").as_int64(), 1);

  // admin.listen: the new file names another admin port; the admin stays where it is.
  std::string moved = yaml({.body = "v3"});
  const std::string admin_line = admin_yaml();
  moved.replace(moved.find(admin_line), admin_line.size(),
                "admin: { listen: 127.0.0.1:" + std::to_string(free_loopback_port()) + " }\n");
  write_config(moved);
  r = admin("POST", "/reload");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("restart pending: admin.listen: "), std::string::npos) << r.body;
  EXPECT_EQ(fresh_body("/hello"), "v3");

  r = reload({.body = "v4", .extra = "log: { access: { path: " + dir_.file("a.log") + " } }\n"});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("restart pending: log.access: "), std::string::npos) << r.body;
  EXPECT_EQ(fresh_body("/hello"), "v4");
  EXPECT_FALSE(std::filesystem::exists(dir_.file("a.log")));
  EXPECT_NE(sluice().stderr_text().find("warn reload: log.access: "), std::string::npos)
      << sluice().stderr_text();

  // Back to the running values: nothing waits any more.
  r = reload({.body = "v5"});
  EXPECT_EQ(r.body, "reloaded\n");
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_config_restart_pending"), 0);
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"success\"}"), 4);
}

TEST_F(ReloadTest, ADryRunAnswersThePlanAndAppliesNothing) {
  ASSERT_TRUE(start_sluice(yaml({})));
  write_config(yaml({.body = "v2", .cluster = "b", .burst = 3}));
  AdminReply r = admin("POST", "/reload?dry_run=1");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            "dry run: nothing applied\n"
            "listener 'web': changed (routes: ~hello, ~app, ~slow)\n"
            "rate limit 'rl': state carried over, converted (burst)\n")
      << r.body;
  EXPECT_EQ(fresh_body("/hello"), "v1");  // still the running config
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"success\"}"), 0);
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"failure\"}"), 0);

  write_config("listeners: [\n");
  r = admin("POST", "/reload?dry_run=1");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(config_path_ + ":"), std::string::npos) << r.body;
  EXPECT_EQ(fresh_body("/hello"), "v1");
}

TEST_F(ReloadTest, TheLogSaysWhatAReloadChangedWithTheConfigHash) {
  ASSERT_TRUE(start_sluice(yaml({})));
  ASSERT_EQ(reload({.cluster = "b"}).status, 200);
  const std::string hash = sha256_hex(read_file(config_path_));
  const std::string err = sluice().stderr_text();
  EXPECT_NE(err.find("info reload: config " + hash + ": 1 change\n"), std::string::npos) << err;
  EXPECT_NE(err.find("info reload: listener 'web': changed (routes: ~app, ~slow)\n"),
            std::string::npos)
      << err;
}

TEST_F(ReloadTest, SighupReloadsLikePostReload) {
  ASSERT_TRUE(start_sluice(yaml({})));
  write_config(yaml({.body = "v2"}));
  ASSERT_EQ(::kill(sluice().pid(), SIGHUP), 0);
  EXPECT_EQ(wait_metric("sluice_config_reloads_total{result=\"success\"}", 1), 1);
  EXPECT_EQ(fresh_body("/hello"), "v2");

  write_config("listeners: [\n");
  ASSERT_EQ(::kill(sluice().pid(), SIGHUP), 0);
  EXPECT_EQ(wait_metric("sluice_config_reloads_total{result=\"failure\"}", 1), 1);
  EXPECT_EQ(fresh_body("/hello"), "v2");
  EXPECT_NE(sluice().stderr_text().find("reload failed"), std::string::npos)
      << sluice().stderr_text();
}

}  // namespace
}  // namespace sluice::testing
