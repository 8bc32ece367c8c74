// What a reload tells operators: the one-line summary of what changed (reload_summary) and
// which restart-only keys keep their running value (restart_only), with exact texts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/parse.hpp"
#include "proxy/control/control_plane.hpp"
#include "proxy/control/reload_summary.hpp"
#include "proxy/control/restart_only.hpp"

namespace sluice::proxy {
namespace {

config::Config parse(const std::string& yaml) {
  config::ParseResult r = config::parse_config_text(yaml, "t.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return std::move(r.config);
}

std::string base(const std::string& top = "", const std::string& routes = "",
                 const std::string& clusters = "") {
  return top +
         "listeners:\n"
         "  - name: web\n"
         "    listen: 127.0.0.1:18080\n"
         "    protocol: http\n"
         "    routes:\n"
         "      - { name: app, match: { path_prefix: / }, cluster: a }\n" +
         routes +
         "clusters:\n"
         "  - { name: a, endpoints: [ { address: 127.0.0.1:19001 } ] }\n" +
         clusters;
}

TEST(ReloadSummaryTest, TheSameConfigIsNoChange) {
  EXPECT_THAT(plan_reload(parse(base()), worker_count_for(parse(base())), parse(base())),
              ::testing::ElementsAre("no changes"));
}

TEST(ReloadSummaryTest, NamesWhatWasAddedRemovedAndChanged) {
  const config::Config before =
      parse(base("", "", "  - { name: old, endpoints: [ { address: 127.0.0.1:19003 } ] }\n"));
  const config::Config after = parse(base(
      "drain_timeout: 5s\n", "      - { name: api, match: { path_prefix: /api }, cluster: b }\n",
      "  - { name: b, endpoints: [ { address: 127.0.0.1:19002 } ] }\n"));
  EXPECT_THAT(plan_reload(before, worker_count_for(before), after),
              ::testing::ElementsAre("listener 'web': changed (routes: +api)", "cluster 'b': added",
                                     "cluster 'old': removed", "settings changed: drain_timeout"));
}

TEST(ReloadSummaryTest, AChangedEndpointChangesItsCluster) {
  std::string moved = base();
  moved.replace(moved.find("19001"), 5, "19005");
  EXPECT_THAT(plan_reload(parse(base()), worker_count_for(parse(base())), parse(moved)),
              ::testing::ElementsAre("cluster 'a': changed (endpoints: +127.0.0.1:19005, "
                                     "-127.0.0.1:19001)"));
}

TEST(RestartOnlyTest, NothingWaitsWhenTheKeysStay) {
  const config::Config running = parse(base("workers: 2\n"));
  config::Config next = parse(base("workers: 2\n"));
  EXPECT_TRUE(keep_restart_only(running, 2, next).empty());
}

TEST(RestartOnlyTest, EachChangedKeyWaitsAndKeepsItsRunningValue) {
  const config::Config running =
      parse(base("workers: 1\nadmin: { listen: 127.0.0.1:19901 }\n"
                 "log: { access: { path: stdout, sample: 1 } }\n"));
  config::Config next =
      parse(base("workers: 2\nadmin: { listen: 127.0.0.1:19902, allowed_hosts: [a.example] }\n"
                 "buffers: { size: 8KiB }\nlog: { access: { path: /tmp/a.log, sample: 0.5 } }\n"));
  const auto pending = keep_restart_only(running, 1, next);
  ASSERT_EQ(pending.size(), 4u);
  EXPECT_EQ(pending[0], "workers: 2 waits for a restart; 1 keep running");
  EXPECT_EQ(pending[1], "admin.listen: 127.0.0.1:19902 waits for a restart; 127.0.0.1:19901 stays");
  EXPECT_EQ(pending[2], "buffers: 1024 x 8192 B wait for a restart; 1024 x 16384 B stay");
  EXPECT_EQ(pending[3], "log.access: /tmp/a.log (json) waits for a restart; stdout (json) stays");
  EXPECT_EQ(next.workers, 1u);
  EXPECT_EQ(next.admin->listen.text, "127.0.0.1:19901");
  // The rest of the admin section and the access log's sample rate follow the reload.
  EXPECT_EQ(next.admin->allowed_hosts, std::vector<std::string>{"a.example"});
  EXPECT_EQ(next.buffers.size, 16u * 1024);
  EXPECT_EQ(next.log.access.path, "stdout");
  EXPECT_EQ(next.log.access.sample, 0.5);
}

TEST(RestartOnlyTest, AddingOrRemovingTheAdminListenerWaits) {
  const config::Config running = parse(base());
  config::Config next = parse(base("admin: { listen: 127.0.0.1:19901 }\n"));
  const auto pending = keep_restart_only(running, worker_count_for(running), next);
  ASSERT_FALSE(pending.empty());
  EXPECT_EQ(pending.back(), "admin.listen: 127.0.0.1:19901 waits for a restart; off stays");
  EXPECT_FALSE(next.admin.has_value());
}

TEST(ReloadPlanTest, OneLinePerChangeWithTheStateItResets) {
  const std::string running_yaml =
      "workers: 1\n"
      "listeners:\n"
      "  - name: web\n"
      "    listen: 127.0.0.1:18080\n"
      "    protocol: http\n"
      "    routes:\n"
      "      - { name: app, match: { path_prefix: / }, cluster: a }\n"
      "clusters:\n"
      "  - name: a\n"
      "    endpoints: [ { address: 127.0.0.1:19001 }, { address: 127.0.0.1:19002 } ]\n"
      "    circuit_breaker: { consecutive_failures: 5 }\n"
      "    outlier_detection: {}\n"
      "rate_limits:\n"
      "  - { name: rl, key: client_ip, rate: 10/min }\n"
      "  - { name: gone, key: client_ip, rate: 1/s }\n";
  std::string next_yaml = running_yaml;
  auto swap = [&next_yaml](const std::string& from, const std::string& to) {
    next_yaml.replace(next_yaml.find(from), from.size(), to);
  };
  swap("19002", "19003");
  swap("consecutive_failures: 5", "consecutive_failures: 3");
  swap("  - { name: gone, key: client_ip, rate: 1/s }\n",
       "  - { name: new, key: client_ip, rate: 1/s }\n");
  swap("{ name: rl, key: client_ip, rate: 10/min }", "{ name: rl, key: global, rate: 10/min }");
  swap("workers: 1\n", "workers: 2\ndrain_timeout: 5s\n");
  const config::Config running = parse(running_yaml);
  EXPECT_THAT(plan_reload(running, 1, parse(next_yaml)),
              ::testing::ElementsAre(
                  "cluster 'a': changed (endpoints: +127.0.0.1:19003, -127.0.0.1:19002)",
                  "cluster 'a': circuit breaker state resets, closed (new thresholds)",
                  "cluster 'a': outlier detection state resets, nothing ejected (new settings or "
                  "endpoints)",
                  "rate limit 'rl': state resets (new key)", "rate limit 'new': added",
                  "rate limit 'gone': removed", "settings changed: drain_timeout",
                  "workers: 2 waits for a restart; 1 keep running"));
  EXPECT_THAT(plan_reload(running, 1, running), ::testing::ElementsAre("no changes"));
  // A real reload logs the changes; the state lines come from what the state store did.
  EXPECT_THAT(
      plan_reload(running, 1, parse(next_yaml), false),
      ::testing::ElementsAre("cluster 'a': changed (endpoints: +127.0.0.1:19003, -127.0.0.1:19002)",
                             "rate limit 'rl': changed", "rate limit 'new': added",
                             "rate limit 'gone': removed", "settings changed: drain_timeout",
                             "workers: 2 waits for a restart; 1 keep running"));

  std::string converted = running_yaml;
  converted.replace(converted.find("10/min"), 6, "20/min");
  EXPECT_THAT(
      plan_reload(running, 1, parse(converted)),
      ::testing::ElementsAre("rate limit 'rl': state carried over, converted (rate, burst)"));
}

}  // namespace
}  // namespace sluice::proxy
