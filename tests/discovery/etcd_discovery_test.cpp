// A cluster fed by etcd through the real binary, against a real etcd on loopback: endpoints
// follow puts and deletes, no request fails while they change under keep-alive load, and an
// etcd that dies leaves the endpoints as they were (stale) until it is back.
#include <atomic>
#include <thread>

#include "tests/control/discovery/etcd_server.hpp"
#include "tests/discovery/discovery_fixture.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

class EtcdDiscoveryTest : public FileDiscoveryTest {
 protected:
  void put(size_t i) {
    etcd_->put("/svc/web/" + std::to_string(i),
               R"({"address": "127.0.0.1", "port": )" + std::to_string(backends_[i].port) + "}");
  }
  void remove(size_t i) { etcd_->remove("/svc/web/" + std::to_string(i)); }
  std::string etcd_yaml(const std::string& workers = "1") {
    return http_yaml("etcd: { endpoints: [" + etcd_->address() +
                         "], prefix: /svc/web/, timeout: 1s, watchdog: 2s }, hold_fraction: 1",
                     workers);
  }
  std::optional<EtcdServer> etcd_;
};

TEST_F(EtcdDiscoveryTest, EndpointsFollowEtcdAndOutliveItsOutage) {
  etcd_.emplace(dir_);
  put(0);
  put(1);
  ASSERT_TRUE(start_sluice(etcd_yaml()));
  EXPECT_TRUE(wait_for_backend("a", 3s));
  EXPECT_TRUE(wait_for_backend("b", 3s));
  put(2);
  EXPECT_TRUE(wait_for_backend("c", 2s));
  remove(0);
  EXPECT_EQ(wait_published(2), 2u);
  for (int i = 0; i < 10; ++i) EXPECT_NE(backend_of(get()), "a") << i;

  etcd_->kill();  // the endpoints stay, marked stale
  EXPECT_EQ(wait_metric("sluice_discovery_stale{cluster=\"c\",source=\"etcd\"}", 1, 5000ms), 1);
  EXPECT_TRUE(wait_for_backend("b", 1s));
  EXPECT_TRUE(wait_for_backend("c", 1s));
  etcd_->start();
  EXPECT_EQ(wait_metric("sluice_discovery_stale{cluster=\"c\",source=\"etcd\"}", 0, 10000ms), 0);
  put(0);  // the watch runs again
  EXPECT_TRUE(wait_for_backend("a", 3s));
}

TEST_F(EtcdDiscoveryTest, NoRequestFailsWhileEtcdChangesTheSetUnderLoad) {
  etcd_.emplace(dir_);
  put(0);
  ASSERT_TRUE(start_sluice(etcd_yaml("2")));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      HttpClient c = connect_http(port_);
      while (!stop.load()) {
        auto r = c.send(request("GET", "/x")) ? c.read_response(Millis(5000)) : std::nullopt;
        if (!r || r->status != 200) {
          ++failed;
          return;
        }
        ++ok;
      }
    });
  }
  // Always at least one endpoint listed; never more than half removed at once.
  for (int round = 0; round < 10; ++round) {
    put(1);
    std::this_thread::sleep_for(100ms);
    remove(0);
    std::this_thread::sleep_for(100ms);
    put(2);
    put(0);
    std::this_thread::sleep_for(100ms);
    remove(1);
    remove(2);
    std::this_thread::sleep_for(100ms);
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 200);
}

}  // namespace
}  // namespace sluice::testing
