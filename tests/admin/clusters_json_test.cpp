// clusters_json: a real Snapshot built from a parsed config, with live state poked into its
// breaker, limits, outlier detector and load counters; the JSON is compared whole.
#include "proxy/control/admin/clusters_json.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "config/parse.hpp"
#include "proxy/control/snapshot_builder.hpp"
#include "proxy/control/state_store.hpp"

namespace sluice::proxy::admin {
namespace {

namespace json = boost::json;

constexpr int64_t kNow = 1'000'000'000'000;

TEST(ClustersJson, LiveStateOfEveryCluster) {
  config::ParseResult parsed = config::parse_config_text(R"(listeners:
  - { name: a, listen: 127.0.0.1:8080, protocol: tcp, cluster: api }
  - { name: b, listen: 127.0.0.1:8081, protocol: tcp, cluster: plain }
clusters:
  - name: api
    balancer: { type: p2c }
    endpoints:
      - { address: 127.0.0.1:9001, weight: 2 }
      - { address: 127.0.0.1:9002 }
    circuit_breaker: { consecutive_failures: 2 }
    limits: { max_requests: 10 }
    outlier_detection: { consecutive_5xx: 2 }
  - name: plain
    endpoints: [{ address: 127.0.0.1:9003 }]
)",
                                                         "t.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.errors[0].to_string();
  auto config = std::make_shared<const config::Config>(std::move(parsed.config));
  StateStore state;
  metrics::Registry metrics(1);
  std::string error;
  auto snapshot = build_snapshot(config, state, metrics, error);
  ASSERT_NE(snapshot, nullptr) << error;
  const ClusterRuntime& api = snapshot->clusters[0];
  ASSERT_TRUE(api.tracks_load);

  api.endpoints.load(0)->in_flight = 3;
  api.endpoints.state(0).connect_failed(kNow);  // passed over for 1 s
  api.breaker->on_failure(kNow);
  api.breaker->on_failure(kNow);                              // opens: 2 in a row
  EXPECT_FALSE(limiter::admitted(api.breaker->allow(kNow)));  // counted as rejected
  ASSERT_TRUE(api.limits->requests.try_acquire());
  api.outliers->on_5xx(1, kNow);
  ASSERT_TRUE(api.outliers->on_5xx(1, kNow));  // 1 of 2 endpoints = the 50% cap

  json::value expected = json::parse(R"({"clusters": [
    {"name": "api", "balancer": "p2c",
     "breaker": {"state": "open", "opened_by_consecutive": 1, "opened_by_ratio": 0,
                 "half_opened": 0, "closed": 0, "reopened": 0, "rejected": 1},
     "limits": {"connections": {"in_use": 0, "max": null, "rejected": 0},
                "pending": {"in_use": 0, "max": null, "rejected": 0},
                "requests": {"in_use": 1, "max": 10, "rejected": 0}},
     "outlier_detection": {"ejected": 1, "ejections": 1, "skipped_by_cap": 0},
     "discovery": null,
     "endpoints": [
       {"address": "127.0.0.1:9001", "weight": 2, "healthy": true, "ejected": false,
        "backing_off": true, "in_flight": 3, "health": null},
       {"address": "127.0.0.1:9002", "weight": 1, "healthy": false, "ejected": true,
        "backing_off": false, "in_flight": 0, "health": null}]},
    {"name": "plain", "balancer": "round_robin", "breaker": null, "limits": null,
     "outlier_detection": null,
     "discovery": null,
     "endpoints": [{"address": "127.0.0.1:9003", "weight": 1, "healthy": true,
                    "ejected": false, "backing_off": false, "in_flight": null, "health": null}]}]})");
  EXPECT_EQ(json::parse(clusters_json(*snapshot, kNow + 1)), expected)
      << clusters_json(*snapshot, kNow + 1);

  // The ejection ends by itself (base_ejection 30s).
  json::value later = json::parse(clusters_json(*snapshot, kNow + 31'000'000'000));
  EXPECT_EQ(later.at("clusters").at(0).at("endpoints").at(1).at("ejected"), false);
  EXPECT_EQ(later.at("clusters").at(0).at("endpoints").at(1).at("healthy"), true);
  EXPECT_EQ(later.at("clusters").at(0).at("endpoints").at(0).at("backing_off"), false);
  api.limits->requests.release();
}

}  // namespace
}  // namespace sluice::proxy::admin
