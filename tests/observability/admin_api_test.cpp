// The admin listener's API through the real binary: /live, /ready, /config
// (the running config, identified by the SHA-256 of its file), /clusters, and
// what it answers to unknown paths, wrong methods and HEAD.
#include <boost/json.hpp>
#include <chrono>

#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;

class AdminApiTest : public ObsTest {
 protected:
  // One http listener and two clusters: a weighted one (weights 3 and 1) and a
  // least_conn one (which tracks in-flight counts).
  void SetUp() override {
    Backend& a = add_backend("a");
    Backend& b = add_backend("b");
    port_ = free_loopback_port();
    yaml_ = "workers: 1\n" + admin_yaml() +
            "listeners:\n"
            "  - name: web\n"
            "    listen: 127.0.0.1:" +
            std::to_string(port_) +
            "\n"
            "    protocol: http\n"
            "    routes:\n"
            "      - { name: api, match: { path_prefix: /api }, cluster: weighted }\n"
            "      - { match: { path_prefix: /lc }, cluster: lc }\n"
            "clusters:\n"
            "  - name: weighted\n"
            "    balancer: { type: weighted_round_robin }\n"
            "    endpoints:\n"
            "      - { address: " +
            a.address() + ", weight: 3 }\n      - { address: " + b.address() +
            ", weight: 1 }\n"
            "  - name: lc\n"
            "    balancer: { type: least_conn }\n"
            "    endpoints:\n"
            "      - { address: " +
            b.address() + " }\n";
    ASSERT_TRUE(start_sluice(yaml_));
  }

  uint16_t port_ = 0;
  std::string yaml_;
};

void expect_closes(const AdminReply& r) {
  EXPECT_EQ(r.header("connection"), "close") << r.raw;
  EXPECT_EQ(r.error, "") << "the admin server must close after one response";
}

TEST_F(AdminApiTest, LiveAndReadyAnswerPlainText) {
  AdminReply live = admin("GET", "/live");
  EXPECT_EQ(live.status, 200) << live.error;
  EXPECT_EQ(live.body, "live\n");
  EXPECT_EQ(live.header("content-length"), "5");
  expect_closes(live);

  AdminReply ready = admin("GET", "/ready");
  EXPECT_EQ(ready.status, 200) << ready.error;
  EXPECT_EQ(ready.body, "ready\n");
  expect_closes(ready);
  // The query string does not change the path.
  EXPECT_EQ(admin("GET", "/ready?verbose=1").status, 200);
}

TEST_F(AdminApiTest, ConfigIsTheRunningConfigWithTheHashOfItsFile) {
  AdminReply r = admin("GET", "/config");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.header("content-type"), "application/json");
  expect_closes(r);
  json::object config = json::parse(r.body).as_object();

  EXPECT_EQ(config.at("source_hash").as_string(), sha256_hex(read_file(config_path_)));
  EXPECT_EQ(config.at("source_path").as_string(), config_path_);
  EXPECT_EQ(config.at("workers").as_int64(), 1);
  EXPECT_EQ(config.at("drain_timeout").as_string(), "30s");
  EXPECT_EQ(config.at("admin").at("listen").as_string(),
            "127.0.0.1:" + std::to_string(admin_port()));
  EXPECT_EQ(config.at("admin").at("max_endpoint_series").as_int64(), 1000);

  const json::array& listeners = config.at("listeners").as_array();
  ASSERT_EQ(listeners.size(), 1u);
  EXPECT_EQ(listeners[0].at("name").as_string(), "web");
  EXPECT_EQ(listeners[0].at("listen").as_string(), "127.0.0.1:" + std::to_string(port_));
  const json::array& clusters = config.at("clusters").as_array();
  ASSERT_EQ(clusters.size(), 2u);
  EXPECT_EQ(clusters[0].at("name").as_string(), "weighted");
  EXPECT_EQ(clusters[0].at("endpoints").at(0).at("weight").as_int64(), 3);
  EXPECT_EQ(clusters[1].at("name").as_string(), "lc");
  EXPECT_TRUE(config.at("rate_limits").as_array().empty());
}

TEST_F(AdminApiTest, ClustersListEveryEndpointWithItsWeightAndState) {
  AdminReply r = admin("GET", "/clusters");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.header("content-type"), "application/json");
  expect_closes(r);
  const json::array clusters = json::parse(r.body).at("clusters").as_array();
  ASSERT_EQ(clusters.size(), 2u) << r.body;

  const json::object& weighted = clusters[0].as_object();
  EXPECT_EQ(weighted.at("name").as_string(), "weighted");
  EXPECT_EQ(weighted.at("balancer").as_string(), "weighted_round_robin");
  EXPECT_TRUE(weighted.at("breaker").is_null());
  // No load tracking for weighted round robin: in_flight is null.
  const json::array expected_weighted = {json::object{{"address", backends_[0].address()},
                                                      {"weight", 3},
                                                      {"healthy", true},
                                                      {"ejected", false},
                                                      {"backing_off", false},
                                                      {"in_flight", nullptr},
                                                      {"health", nullptr}},
                                         json::object{{"address", backends_[1].address()},
                                                      {"weight", 1},
                                                      {"healthy", true},
                                                      {"ejected", false},
                                                      {"backing_off", false},
                                                      {"in_flight", nullptr},
                                                      {"health", nullptr}}};
  EXPECT_EQ(weighted.at("endpoints").as_array(), expected_weighted) << r.body;

  const json::object& lc = clusters[1].as_object();
  EXPECT_EQ(lc.at("name").as_string(), "lc");
  EXPECT_EQ(lc.at("balancer").as_string(), "least_conn");
  const json::array expected_lc = {json::object{{"address", backends_[1].address()},
                                                {"weight", 1},
                                                {"healthy", true},
                                                {"ejected", false},
                                                {"backing_off", false},
                                                {"in_flight", 0},
                                                {"health", nullptr}}};
  EXPECT_EQ(lc.at("endpoints").as_array(), expected_lc) << r.body;
}

TEST_F(AdminApiTest, UnknownPathsAre404) {
  for (const char* path : {"/nope", "/metrics/extra", "/READY", "/live/"}) {
    AdminReply r = admin("GET", path);
    EXPECT_EQ(r.status, 404) << path << ": " << r.error;
    EXPECT_EQ(r.header("allow"), std::nullopt) << path;
    expect_closes(r);
  }
  EXPECT_EQ(admin("POST", "/nope").status, 404);
}

TEST_F(AdminApiTest, WrongMethodsAre405WithAllow) {
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  };
  for (const Case& c : {Case{"POST", "/metrics", "GET, HEAD"}, Case{"PUT", "/live", "GET, HEAD"},
                        Case{"DELETE", "/config", "GET, HEAD"},
                        Case{"POST", "/clusters", "GET, HEAD"}, Case{"GET", "/reload", "POST"},
                        Case{"GET", "/drain", "POST"}, Case{"HEAD", "/drain", "POST"}}) {
    AdminReply r = admin(c.method, c.path);
    EXPECT_EQ(r.status, 405) << c.method << " " << c.path << ": " << r.error;
    EXPECT_EQ(r.header("allow"), c.allow) << c.method << " " << c.path;
    expect_closes(r);
  }
  // None of those drained or reloaded anything.
  EXPECT_EQ(admin("GET", "/ready").status, 200);
  EXPECT_EQ(scrape().get("sluice_config_reloads_total{result=\"success\"}"), 0);
}

TEST_F(AdminApiTest, StalledAdminClientsDoNotHoldUpOthers) {
  // Half a request, then silence; and a connection that never says anything.
  Socket half = connect_loopback(admin_port(), Millis(2000));
  ASSERT_TRUE(half.valid());
  ASSERT_TRUE(send_all(half, "GET /metr", Millis(1000)));
  // More silent connections than the admin server keeps (64).
  std::vector<Socket> mute;
  for (int i = 0; i < 70; ++i) {
    mute.push_back(connect_loopback(admin_port(), Millis(2000)));
    ASSERT_TRUE(mute.back().valid()) << i;
  }
  const auto start = std::chrono::steady_clock::now();
  AdminReply r = admin("GET", "/live");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, Millis(1000));
}

TEST_F(AdminApiTest, HeadAnswersTheHeadersWithoutABody) {
  AdminReply get = admin("GET", "/metrics");
  ASSERT_EQ(get.status, 200) << get.error;
  EXPECT_TRUE(get.header("content-type").value_or("").starts_with("text/plain; version=0.0.4"))
      << get.header("content-type").value_or("<none>");
  ASSERT_FALSE(get.body.empty());

  AdminReply head = admin("HEAD", "/metrics");
  ASSERT_EQ(head.status, 200) << head.error;
  EXPECT_EQ(head.body, "") << "HEAD /metrics sent a body";
  EXPECT_EQ(head.header("content-type"), get.header("content-type"));
  expect_closes(head);
  // The length of the body GET would send, on a page that stays the same between the two
  // (/metrics does not: the process_* series, memory and CPU, change their digits).
  AdminReply get_config = admin("GET", "/config");
  AdminReply head_config = admin("HEAD", "/config");
  EXPECT_EQ(head_config.body, "");
  EXPECT_EQ(head_config.header("content-length"), std::to_string(get_config.body.size()));

  AdminReply head_live = admin("HEAD", "/live");
  EXPECT_EQ(head_live.status, 200);
  EXPECT_EQ(head_live.body, "");
  EXPECT_EQ(head_live.header("content-length"), "5");
}

}  // namespace
}  // namespace sluice::testing
