// Listeners across reloads: a listener added by a reload accepts at once, a
// removed one stops accepting while the connection it already had still gets
// its answer, and its series disappear once nothing uses it.
#include "tests/observability/obs_fixture.hpp"

namespace sluice::testing {
namespace {

class ReloadListenersTest : public ObsTest {
 protected:
  // Listeners named in `names` on the matching ports, all routing to cluster c.
  std::string yaml(const std::vector<std::pair<std::string, uint16_t>>& listeners) {
    std::string y = "workers: 1\n" + admin_yaml() + "listeners:\n";
    for (const auto& [name, port] : listeners) {
      y += "  - name: " + name + "\n    listen: 127.0.0.1:" + std::to_string(port) +
           "\n    protocol: http\n    routes:\n"
           "      - { match: { path_prefix: / }, cluster: c }\n";
    }
    y += "clusters:\n  - { name: c, endpoints: [ { address: " + backends_.at(0).address() +
         " } ] }\n";
    return y;
  }
};

TEST_F(ReloadListenersTest, AnAddedListenerAcceptsAsSoonAsTheReloadAnswers) {
  add_backend("b0");
  const uint16_t web = free_loopback_port();
  const uint16_t extra = free_loopback_port();
  ASSERT_TRUE(start_sluice(yaml({{"web", web}})));
  EXPECT_FALSE(connect_loopback(extra, Millis(500)).valid());

  write_config(yaml({{"web", web}, {"extra", extra}}));
  AdminReply r = admin("POST", "/reload");
  ASSERT_EQ(r.status, 200) << r.body;
  Response got = fetch_once(extra, request("GET", "/x"));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "backend b0\n");
  EXPECT_EQ(fetch_once(web, request("GET", "/x")).status, 200);

  EXPECT_EQ(wait_metric("sluice_downstream_connections_total{listener=\"extra\"}", 1), 1);
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_listener_info{listener=\"extra\",protocol=\"http\"}"), 1);
  EXPECT_EQ(m.get("sluice_downstream_connections_total{listener=\"web\"}"), 1);
}

TEST_F(ReloadListenersTest, ARemovedListenerRefusesNewConnectionsAndFinishesItsOpenOne) {
  add_backend("b0");
  const uint16_t web = free_loopback_port();
  const uint16_t gone = free_loopback_port();
  ASSERT_TRUE(start_sluice(yaml({{"web", web}, {"gone", gone}})));

  // A request in flight on the listener about to go.
  HttpClient open = connect_http(gone);
  ASSERT_TRUE(open.send(request("GET", "/sleep?ms=1000")));
  ASSERT_EQ(wait_metric("sluice_upstream_requests_total{cluster=\"c\"}", 1), 1);

  write_config(yaml({{"web", web}}));
  AdminReply r = admin("POST", "/reload");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(wait_refused(gone, Millis(2000))) << "the removed listener still accepts";
  EXPECT_EQ(fetch_once(web, request("GET", "/x")).status, 200);

  std::string error;
  auto answer = open.read_response(Millis(5000), false, &error);
  ASSERT_TRUE(answer.has_value()) << "the open connection lost its response: " << error;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "backend b0\n");
  // Once nothing uses the old listener any more, its series go.
  open = HttpClient();
  bool dropped = false;
  for (auto until = std::chrono::steady_clock::now() + Millis(5000);
       !dropped && std::chrono::steady_clock::now() < until;) {
    dropped = !scrape().has("sluice_listener_info{listener=\"gone\",protocol=\"http\"}");
  }
  EXPECT_TRUE(dropped) << "series of the removed listener are still exported";
}

TEST_F(ReloadListenersTest, ARemovedTcpListenerKeepsRelayingItsOpenConnection) {
  add_backend("b0");
  Backend& echo = add_backend("echo", "echo");
  const uint16_t web = free_loopback_port();
  const uint16_t raw = free_loopback_port();
  const std::string tcp = "  - { name: raw, listen: 127.0.0.1:" + std::to_string(raw) +
                          ", protocol: tcp, cluster: e }\n";
  const std::string cluster =
      "  - { name: e, endpoints: [ { address: " + echo.address() + " } ] }\n";
  auto with_tcp = [&](bool on) {
    std::string y = yaml({{"web", web}});
    if (on) y.insert(y.find("clusters:\n"), tcp);
    return y + cluster;
  };
  ASSERT_TRUE(start_sluice(with_tcp(true)));
  Socket open = connect_loopback(raw, Millis(5000));
  ASSERT_TRUE(open.valid());
  ASSERT_TRUE(send_all(open, "one ", Millis(1000)));

  write_config(with_tcp(false));
  ASSERT_EQ(admin("POST", "/reload").status, 200);
  EXPECT_TRUE(wait_refused(raw, Millis(2000))) << "the removed tcp listener still accepts";
  std::string answer;
  PumpResult p = exchange(open, "two", &answer, Millis(5000));
  EXPECT_TRUE(p.ok) << p.error;
  EXPECT_EQ(answer, "one two");
}

TEST_F(ReloadListenersTest, AReloadWhoseNewListenerCannotListenChangesNothing) {
  add_backend("b0");
  const uint16_t web = free_loopback_port();
  uint16_t taken = 0;
  Socket holder = reserve_refusing_port(&taken);  // bound by the test, no SO_REUSEPORT
  ASSERT_TRUE(holder.valid());
  ASSERT_TRUE(start_sluice(yaml({{"web", web}})));
  const std::string running = read_file(config_path_);

  write_config(yaml({{"web", web}, {"blocked", taken}}));
  AdminReply r = admin("POST", "/reload");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("blocked"), std::string::npos) << r.body;
  EXPECT_EQ(fetch_once(web, request("GET", "/x")).status, 200);
  const MetricSet m = scrape();
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"failure\"}"), 1);
  EXPECT_EQ(m.get("sluice_config_reloads_total{result=\"success\"}"), 0);
  EXPECT_FALSE(m.has("sluice_listener_info{listener=\"blocked\",protocol=\"http\"}"));
  EXPECT_EQ(boost::json::parse(admin("GET", "/config").body).at("source_hash").as_string(),
            sha256_hex(running));
}

TEST_F(ReloadListenersTest, AKeptListenerNeverStopsAccepting) {
  add_backend("b0");
  const uint16_t web = free_loopback_port();
  const uint16_t other = free_loopback_port();
  ASSERT_TRUE(start_sluice(yaml({{"web", web}})));
  // The same address under the same name across reloads that add and remove
  // another listener: every fresh connection in between is served.
  for (int i = 0; i < 4; ++i) {
    write_config(i % 2 == 0 ? yaml({{"web", web}, {"other", other}}) : yaml({{"web", web}}));
    ASSERT_EQ(admin("POST", "/reload").status, 200);
    Response got = fetch_once(web, request("GET", "/x"));
    EXPECT_EQ(got.status, 200) << "after reload " << i;
  }
  EXPECT_EQ(wait_metric("sluice_downstream_connections_total{listener=\"web\"}", 4), 4);
  EXPECT_EQ(scrape().get("sluice_config_reloads_total{result=\"success\"}"), 4);
}

}  // namespace
}  // namespace sluice::testing
