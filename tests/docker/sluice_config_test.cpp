// docker/sluice.yaml: validates with the sluice binary this tree builds, and agrees with
// compose.yaml and the Dockerfile on addresses and ports.
#include <gtest/gtest.h>

#include <set>

#include "compose_model.hpp"

namespace sluice::docker_testing {
namespace {

TEST(SluiceConfig, ValidatesWithTheCurrentBinary) {
  const fs::path config = docker_dir() / "sluice.yaml";
  ASSERT_TRUE(fs::exists(config)) << config;
  auto r = run_command({SLUICE_BINARY_PATH, "--validate", config.string()});
  EXPECT_EQ(r.exit_code, 0) << "sluice --validate " << config << ":\n" << r.output;
}

class SluiceConfigAndCompose : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = load_yaml(compose_path());
    auto s = load_yaml(docker_dir() / "sluice.yaml");
    ASSERT_TRUE(c && s);
    compose_ = *c;
    config_ = *s;
  }
  YAML::Node compose_;
  YAML::Node config_;
};

TEST_F(SluiceConfigAndCompose, EveryUpstreamAddressIsAComposeServiceIp) {
  int endpoints = 0;
  for (const auto& cluster : config_["clusters"]) {
    for (const auto& e : cluster["endpoints"]) {
      ++endpoints;
      std::string address = e["address"].as<std::string>();
      std::string service = service_with_ip(compose_, host_of(address));
      EXPECT_FALSE(service.empty())
          << "cluster " << cluster["name"].as<std::string>() << ": endpoint " << address
          << " is no compose service's ipv4_address";
      EXPECT_NE(service, "sluice") << address << " would loop back into sluice";
    }
  }
  EXPECT_GT(endpoints, 0);
}

TEST_F(SluiceConfigAndCompose, RedisAddressIsTheRedisService) {
  bool global = false;
  for (const auto& rl : config_["rate_limits"])
    global |= rl["scope"].as<std::string>("local") == "global";
  EXPECT_TRUE(global) << "expected a `scope: global` rate limit (the Redis-backed limiter)";
  ASSERT_TRUE(config_["redis"]["address"]) << "sluice.yaml has no redis.address";
  std::string address = config_["redis"]["address"].as<std::string>();
  EXPECT_EQ(service_with_ip(compose_, host_of(address)), "redis")
      << "redis.address " << address << " is not the redis service's ipv4_address";
  EXPECT_EQ(port_of(address), "6379");
}

TEST_F(SluiceConfigAndCompose, ListenersBindAllInterfacesAndArePublished) {
  const YAML::Node sluice = compose_["services"]["sluice"];
  auto ports = published_container_ports(sluice);
  std::set<std::string> published(ports.begin(), ports.end());
  std::set<std::string> exposed;
  auto stages = parse_dockerfile(read_text(docker_dir() / "Dockerfile"));
  ASSERT_FALSE(stages.empty());
  for (const auto& ins : stages.back().instructions)  // the runtime stage
    if (ins.keyword == "EXPOSE")
      for (auto& p : split_words(ins.args)) exposed.insert(p.substr(0, p.find('/')));
  std::set<std::string> protocols;
  for (const auto& l : config_["listeners"]) {
    std::string name = l["name"].as<std::string>(), listen = l["listen"].as<std::string>();
    protocols.insert(l["protocol"].as<std::string>());
    EXPECT_EQ(host_of(listen), "0.0.0.0")
        << "listener " << name << " on " << listen << " is unreachable from outside the container";
    EXPECT_TRUE(published.count(port_of(listen)))
        << "listener " << name << ": compose does not publish port " << port_of(listen);
    EXPECT_TRUE(exposed.count(port_of(listen)))
        << "listener " << name << ": the Dockerfile does not EXPOSE " << port_of(listen);
  }
  EXPECT_EQ(protocols, (std::set<std::string>{"http", "tcp"}))
      << "expected an http and a tcp listener";
}

TEST_F(SluiceConfigAndCompose, AdminIsScrapedByPrometheusAndPublishedOnLoopbackOnly) {
  ASSERT_TRUE(config_["admin"]["listen"]) << "sluice.yaml has no admin.listen: no /metrics";
  const std::string listen = config_["admin"]["listen"].as<std::string>();
  EXPECT_EQ(host_of(listen), "0.0.0.0")
      << "admin.listen " << listen << ": Prometheus scrapes it from another container";

  auto prometheus = load_yaml(docker_dir() / "prometheus" / "prometheus.yml");
  ASSERT_TRUE(prometheus.has_value());
  bool scraped = false;
  for (const auto& job : (*prometheus)["scrape_configs"])
    for (const auto& sc : job["static_configs"])
      for (const auto& t : sc["targets"])
        scraped |= t.as<std::string>() == "sluice:" + port_of(listen);
  EXPECT_TRUE(scraped) << "Prometheus does not scrape sluice:" << port_of(listen);

  // The admin has no authentication (it can drain and reload): never on the host's
  // public interfaces.
  for (const auto& p : compose_["services"]["sluice"]["ports"]) {
    std::string published = p.IsScalar() ? p.as<std::string>() : "";
    if (p.IsMap()) {
      published = p["host_ip"].as<std::string>("") + ":" + p["published"].as<std::string>("") +
                  ":" + p["target"].as<std::string>("");
    }
    published = published.substr(0, published.find('/'));
    if (published.substr(published.rfind(':') + 1) != port_of(listen)) continue;
    EXPECT_EQ(published.rfind("127.0.0.1:", 0), 0u)
        << "compose publishes the admin port as " << published
        << ": bind it to the host's loopback (127.0.0.1:" << port_of(listen) << ":"
        << port_of(listen) << ")";
  }
}

}  // namespace
}  // namespace sluice::docker_testing
