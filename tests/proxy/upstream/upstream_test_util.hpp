// Builds ClusterRuntimes by hand, the way the snapshot builder does, for
// tests of proxy/upstream/. Test thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "balancers/registry.hpp"
#include "config/config.hpp"
#include "config/scalars.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/upstream/cluster.hpp"
#include "proxy/upstream/endpoint_list.hpp"
#include "proxy/upstream/pool.hpp"
#include "proxy/upstream/upstream_connection.hpp"
#include "tests/proxy/stream/stream_test_util.hpp"

namespace sluice::proxy::test {

// "10.a.b.1:80": distinct, never contacted.
inline config::Address fake_address(uint32_t i) {
  const std::string text =
      "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1:80";
  return *config::parse_address(text).value;
}

// Owns what a ClusterRuntime points at; the pool wants the clusters in a deque.
struct Clusters {
  std::deque<config::Cluster> configs;
  std::deque<ClusterRuntime> runtimes;

  // A cluster over `addresses`, endpoint ids 1000 + position, a `balancer`
  // built over them and stats for one worker.
  ClusterRuntime& add(const std::vector<config::Address>& addresses, std::string_view balancer,
                      const balancers::Options& options = {}) {
    config::Cluster& cfg = configs.emplace_back();
    cfg.name = "c" + std::to_string(runtimes.size());
    ClusterRuntime& c = runtimes.emplace_back();
    c.config = &cfg;
    c.index = runtimes.size() - 1;
    for (uint32_t i = 0; i < addresses.size(); ++i)
      c.endpoints.add(addresses[i], 1, std::make_shared<EndpointState>(1000 + i));
    balancers::BuildResult built =
        balancers::make_balancer(balancer, c.endpoints.for_balancer(), options);
    EXPECT_TRUE(built.ok()) << built.error;
    c.balancer = std::move(built.balancer);
    c.stats = std::make_shared<metrics::ClusterStats>(cfg.name, 1);
    return c;
  }
};

inline std::vector<config::Address> fake_addresses(uint32_t count) {
  std::vector<config::Address> out;
  for (uint32_t i = 0; i < count; ++i) out.push_back(fake_address(i));
  return out;
}

class RecordingUpstreamOwner : public UpstreamOwner {
 public:
  void on_upstream_connected(UpstreamConnection& c, int result) override {
    connects.push_back(result);
    if (on_connected) on_connected(c, result);
  }
  void on_upstream_input(UpstreamConnection&) override { ++inputs; }
  void on_upstream_sent(UpstreamConnection&) override { ++sent; }
  void on_upstream_error(UpstreamConnection&, int error) override { errors.push_back(error); }

  std::vector<int> connects;
  std::vector<int> errors;
  int inputs = 0;
  int sent = 0;
  std::function<void(UpstreamConnection&, int)> on_connected;
};

// A Loop, two loopback listeners and a pool over two clusters:
//   cluster 0: [listener 0, listener 1], round robin;
//   cluster 1: [a bound port that refuses connects, listener 0], round robin.
// Every connection a test opens must be freed by its end (TearDown checks).
class UpstreamFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string error = loop_.init(64, 64, 4096);
    if (!error.empty()) GTEST_SKIP() << error;
    uint16_t ports[3] = {};
    for (int i = 0; i < 2; ++i) {
      listeners_[i] = bound_loopback(&ports[i], 128);
      ASSERT_GE(listeners_[i].get(), 0);
    }
    refusing_ = bound_loopback(&ports[2], -1);
    ASSERT_GE(refusing_.get(), 0);
    clusters_.add({loopback_address(ports[0]), loopback_address(ports[1])}, "round_robin");
    clusters_.add({loopback_address(ports[2]), loopback_address(ports[0])}, "round_robin");
    pool_ = std::make_unique<UpstreamPool>(loop_, clusters_.runtimes, [this] { ++freed_; });
  }

  void TearDown() override {
    if (pool_ == nullptr) return;
    pool_->close();
    EXPECT_TRUE(pump_until(loop_, [&] { return pool_->live() == 0; }))
        << pool_->live() << " connection(s) still live";
  }

  ClusterRuntime& cluster(size_t i = 0) { return clusters_.runtimes[i]; }

  // A new connection to `endpoint` of cluster 0, connected (owned by owner_
  // meanwhile), with its far end.
  struct Opened {
    UpstreamConnection* connection = nullptr;
    Fd server;
  };
  Opened open(uint32_t endpoint) {
    using namespace std::chrono_literals;
    Opened o;
    o.connection = new UpstreamConnection(loop_, *pool_, cluster(), endpoint, 0, {}, {});
    o.connection->set_owner(&owner_);
    const size_t connects = owner_.connects.size();
    EXPECT_EQ(o.connection->connect(1000ms), 0);
    o.server = accept_while_pumping(loop_, listeners_[endpoint].get());
    EXPECT_GE(o.server.get(), 0);
    EXPECT_TRUE(pump_until(loop_, [&] { return owner_.connects.size() > connects; }));
    EXPECT_EQ(owner_.connects.back(), 0);
    return o;
  }

  Loop loop_;
  Fd listeners_[2];
  Fd refusing_;
  Clusters clusters_;
  RecordingUpstreamOwner owner_;
  std::unique_ptr<UpstreamPool> pool_;
  int freed_ = 0;
};

}  // namespace sluice::proxy::test
