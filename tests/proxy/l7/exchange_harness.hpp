// A harness for driving one Exchange without a client connection: a Loop, a
// snapshot built from YAML by the real builder, a SessionHost that hands out
// this generation's pool and balancer state, a sink that records what the
// exchange says, and endpoints the test plays by hand on loopback listeners
// (accept, read the request, write a response byte for byte).
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/control/snapshot_builder.hpp"
#include "proxy/core/clock.hpp"
#include "proxy/core/loop.hpp"
#include "proxy/l7/exchange.hpp"
#include "proxy/l7/h1/head_parser.hpp"
#include "proxy/metrics/registry.hpp"
#include "proxy/worker/snapshot.hpp"

namespace sluice::proxy::test {

// Records the exchange's calls; response bytes are copied out of the buffer ring.
class RecordingSink final : public ExchangeSink {
 public:
  explicit RecordingSink(Loop& loop) : loop_(loop) {}

  void on_interim_response(const http::Head& head) override;
  bool on_response_head(const http::Head& head, std::string_view extra_headers) override;
  void on_response_body(uint16_t buffer, uint32_t offset, uint32_t length) override;
  void on_response_end() override { events.push_back("end"); }
  void on_local_response(const LocalResponse& response) override;
  void on_exchange_failed() override { events.push_back("failed"); }
  void on_request_drained() override {}
  size_t response_backlog() const override { return backlog; }
  const http::Error* check_buffered_body() override { return nullptr; }

  std::vector<std::string> events;  // "interim 100", "head 200", "local 404 no-route", "end"...
  std::string body;
  std::string extra_headers;  // what the exchange added to the last response head
  bool want_payload = false;  // answer on_response_head with "de-chunk"
  size_t backlog = 0;         // what response_backlog() says

 private:
  Loop& loop_;
};

// An endpoint the test plays: a loopback listener, and the connection sluice made.
class FakeEndpoint {
 public:
  FakeEndpoint();
  ~FakeEndpoint();
  uint16_t port() const { return port_; }
  // Accepts sluice's connection (driving `loop` meanwhile); false after `ms`.
  bool accept(Loop& loop, int ms = 2000);
  // Reads until `until` appears in what the connection received; returns all of it.
  std::string read_until(Loop& loop, const std::string& until, int ms = 2000);
  void write(const std::string& bytes);
  void close_connection();  // FIN
  void reset_connection();  // RST
  int accepted() const { return accepted_; }

 private:
  int listener_ = -1;
  int connection_ = -1;
  uint16_t port_ = 0;
  int accepted_ = 0;
};

class ExchangeHarness : public ::testing::Test, public SessionHost {
 protected:
  // `yaml` may use {E0}, {E1} ... for the endpoints' addresses (two endpoints).
  void build(const std::string& yaml);
  // A request head parsed from `text` (kept alive by the harness).
  const http::Head& request(const std::string& text);
  // Runs the loop until `done` or `ms` pass; false on timeout.
  bool run_until(const std::function<bool()>& done, int ms = 2000);
  bool saw(const std::string& event) const;
  const metrics::ClusterCounters& cluster_counters(size_t cluster = 0) const;
  const metrics::ListenerCounters& counters() const {
    return snapshot_->listeners[0].stats->per_worker.at(0);
  }
  void TearDown() override;

  // SessionHost.
  Loop& loop() override { return loop_; }
  unsigned worker_index() const override { return 0; }
  const config::Listener& listener() const override { return http().config; }
  const SessionFactory& factory() const override { return http(); }
  TimerList& idle_timers() override { return loop_.timers(60000); }
  metrics::ListenerCounters& counters() override {
    return snapshot_->listeners[0].stats->per_worker.at(0);
  }
  UpstreamPool& pool() override { return *pool_; }
  balancers::CoreState& core(const ClusterRuntime& cluster) override {
    return cores_[cluster.index];
  }
  bool logging() const override { return false; }
  access_log::RecordRing* access_log() override { return nullptr; }
  bool outdated() const override { return false; }
  SessionHost* follow_reload(Session&) override { return nullptr; }
  void session_ended(Session&) override {}
  void session_replaced(Session&, Session&) override {}
  int start_transport(Stream&) override { return 0; }

  const HttpListener& http() const;

  Loop loop_;
  FakeEndpoint endpoints_[2];
  StateStore state_;
  std::unique_ptr<metrics::Registry> metrics_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::unique_ptr<UpstreamPool> pool_;
  std::vector<balancers::CoreState> cores_;
  std::unique_ptr<RecordingSink> sink_;
  std::unique_ptr<Exchange> exchange_;
  std::deque<http::HeadParser> parsers_;
};

}  // namespace sluice::proxy::test
