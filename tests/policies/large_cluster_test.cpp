// Retries and outlier ejection on a 200-endpoint cluster, end to end: the real
// sluice (`workers: 1`) in front of 20 live http-mode test backends and 180
// closed loopback ports (bound, never listening: every connect is refused at
// once, and nobody else can take the port while the test holds it).
//
// Why 200: a request's "already tried" and "ejected" exclusions used to be one
// 64-bit mask, so endpoints at positions >= 64 were never excluded. A retry
// could pick the same dead endpoint again and spend every attempt on it, and an
// ejected endpoint beyond position 63 kept getting traffic. Live endpoints sit
// at positions 0..9 and 100..109; the 180 dead ones fill the rest, so 126 of
// them are at positions >= 64 (64..99 and 110..199).
//
// Both tests can fail against a binary with the 64-bit mask (see the comment
// above each for how), and wait on sluice's own counters, never on sleeps.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/policies/policy_fixture.hpp"

namespace sluice::testing {
namespace {

constexpr int kEndpoints = 200;

bool is_live_position(int i) {
  return (i >= 0 && i < 10) || (i >= 100 && i < 110);
}

class LargeClusterTest : public PolicyTest {
 protected:
  // Starts a backend named "p<position>" for each live position and reserves a
  // refusing port for every other one; fills addresses_ in position order.
  void make_cluster() {
    for (int i = 0; i < kEndpoints; ++i) {
      if (is_live_position(i)) {
        Backend& b = add_http_backend("p" + std::to_string(i));
        addresses_.push_back(b.address());
        live_names_.insert("p" + std::to_string(i));
      } else {
        uint16_t port = 0;
        closed_.push_back(reserve_refusing_port(&port));
        ASSERT_TRUE(closed_.back().valid()) << "could not reserve a closed port";
        addresses_.push_back(loopback_address(port));
        dead_.insert(addresses_.back());
      }
    }
    ASSERT_EQ(live_names_.size(), 20u);
    ASSERT_EQ(dead_.size(), 180u);
  }

  std::string admin_yaml() {
    admin_port_ = free_loopback_port();
    return "admin: { listen: 127.0.0.1:" + std::to_string(admin_port_) + " }\n";
  }

  // One admin request over its own connection (the admin server answers one
  // request per connection and closes); the body, or "" on any failure.
  std::string admin_get(const std::string& path) {
    Socket s = connect_loopback(admin_port_, Millis(5000));
    if (!s.valid()) return "";
    if (!send_all(s, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                  Millis(5000)))
      return "";
    ReceiveResult r = recv_until_eof(s, Millis(5000));
    if (r.data.rfind("HTTP/1.1 200 ", 0) != 0) return "";
    size_t body = r.data.find("\r\n\r\n");
    return body == std::string::npos ? "" : r.data.substr(body + 4);
  }

  // The value of one exact series (`name{labels}`) in GET /metrics; -1 when
  // the scrape failed or the series is absent.
  double metric(const std::string& series) {
    const std::string text = admin_get("/metrics");
    const std::string prefix = series + " ";
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      if (text.compare(pos, prefix.size(), prefix) == 0)
        return std::stod(text.substr(pos + prefix.size(), end - pos - prefix.size()));
      pos = end + 1;
    }
    return -1;
  }
  double cluster_metric(const std::string& name) { return metric(name + "{cluster=\"c\"}"); }

  // GET /clusters: endpoint address -> its "ejected" flag, for the one cluster
  // of the config. Endpoint objects hold no nested objects, so each one is the
  // text between a '{' and the next '}' after "endpoints":[.
  std::map<std::string, bool> ejected_by_address(std::string* raw) {
    std::map<std::string, bool> out;
    *raw = admin_get("/clusters");
    size_t pos = raw->find("\"endpoints\":[");
    if (pos == std::string::npos) return out;
    const size_t array_end = raw->find(']', pos);
    while ((pos = raw->find('{', pos)) != std::string::npos && pos < array_end) {
      const size_t end = raw->find('}', pos);
      const std::string obj = raw->substr(pos, end - pos);
      pos = end;
      const size_t a = obj.find("\"address\":\"");
      if (a == std::string::npos) continue;
      const size_t a_end = obj.find('"', a + 11);
      const std::string address = obj.substr(a + 11, a_end - a - 11);
      out[address] = obj.find("\"ejected\":true") != std::string::npos;
    }
    return out;
  }

  std::vector<std::string> addresses_;  // position order
  std::set<std::string> live_names_;
  std::set<std::string> dead_;  // addresses
  std::vector<Socket> closed_;  // keep the dead ports bound (and refusing) for the whole test
  uint16_t admin_port_ = 0;
};

// ---------------------------------------------------------------- retries

// Consistent hashing on the client IP, which both an http route and a tcp
// listener use, with `retries: { attempts: 10 }` (the schema's maximum; retries
// on connect failure are the default `on:`). Every request/connection comes from
// its own 127.x.y.z source address, i.e. its own hash key.
//
// Why consistent hashing, not round robin: round robin moves its cursor on
// every pick, so a retry goes to the next endpoint whether or not the tried one
// is excluded; it cannot tell a correct exclusion from a broken one. A hash
// balancer returns the key's owner on every pick until the owner is excluded:
// with the 64-bit mask, a key owned by a dead endpoint at position >= 64 got
// that same endpoint on all 11 tries, a deterministic 502 (or a dropped tcp
// connection). With the exclusion working, each retry walks the ring to the
// next endpoint not yet tried.
//
// Why these weights: live endpoints have weight 100, dead ones 1, so a ring
// point belongs to a dead endpoint with probability r = 180 / (180 + 20 * 100)
// = 0.083. A correct proxy fails a key only when the first 11 distinct
// endpoints on its ring walk are all dead: about r^11 = 1.2e-12, i.e. never over
// 600 keys. The broken mask fails a key whose walk meets a dead endpoint at
// position >= 64 before any live one: about 126/2180 = 5.8% of keys, i.e. ~17
// of 300 per listener; the chance that all 300 pass anyway is 0.942^300 ≈ 2e-8.
// (Ring positions are hashes of the endpoint addresses, whose ports differ from
// run to run, so which keys fail changes; those odds do not.)
TEST_F(LargeClusterTest, RetriesNeverRepeatADeadEndpointBeyondPosition64) {
  ASSERT_NO_FATAL_FAILURE(make_cluster());
  std::vector<int> weights;
  for (int i = 0; i < kEndpoints; ++i) weights.push_back(is_live_position(i) ? 100 : 1);
  const uint16_t http_port = free_loopback_port();
  const uint16_t tcp_port = free_loopback_port();
  ASSERT_GE(start_sluice("workers: 1\n" + admin_yaml() +
                         "listeners:\n"
                         "  - name: web\n"
                         "    listen: 127.0.0.1:" +
                         std::to_string(http_port) +
                         "\n"
                         "    protocol: http\n"
                         "    routes:\n"
                         "      - match: { path_prefix: / }\n"
                         "        cluster: c\n"
                         "        retries: { attempts: 10, on: [connect-failure] }\n"
                         "  - name: tcp\n"
                         "    listen: 127.0.0.1:" +
                         std::to_string(tcp_port) +
                         "\n"
                         "    protocol: tcp\n"
                         "    cluster: c\n"
                         "    retries: { attempts: 10 }\n"
                         "clusters:\n"
                         "  - name: c\n"
                         "    balancer: { type: consistent_hash, key: client_ip }\n"
                         "    endpoints:\n" +
                         endpoints_yaml(addresses_, weights)),
            0);

  constexpr int kKeys = 300;
  auto source_ip = [](int net, int i) {
    return "127." + std::to_string(net) + "." + std::to_string(i / 250) + "." +
           std::to_string(1 + i % 250);
  };
  int http_failed = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string ip = source_ip(1, i);
    HttpResponse r = HttpClient(http_port, ip).get("/");
    const bool ok = r.status == 200 && live_names_.count(r.backend()) == 1;
    if (!ok && ++http_failed <= 5)
      ADD_FAILURE() << "http from " << ip << ": status " << r.status << " "
                    << r.header("x-sluice-error") << " " << r.error;
  }
  EXPECT_EQ(http_failed, 0) << "http requests that did not reach a live backend, of " << kKeys;

  int tcp_failed = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string ip = source_ip(2, i);
    const std::string name = tcp_fetch_backend(tcp_port, ip);
    if (live_names_.count(name) == 0 && ++tcp_failed <= 5)
      ADD_FAILURE() << "tcp from " << ip << ": got \"" << name << "\"";
  }
  EXPECT_EQ(tcp_failed, 0) << "tcp connections that did not reach a live backend, of " << kKeys;

  // The test did exercise retries: ~8% of keys start on a dead endpoint (the
  // chance that none of 600 does is 0.917^600 ≈ 1e-22). And each connect
  // failure was followed by exactly one retry, which a request that gave up
  // (attempts spent, or no untried endpoint left) would break.
  const double failures = cluster_metric("sluice_upstream_connect_failures_total");
  const double retries = cluster_metric("sluice_upstream_retries_total");
  EXPECT_GT(failures, 0) << "no key landed on a dead endpoint: retries were not exercised";
  EXPECT_EQ(retries, failures);
}

// ---------------------------------------------------------------- ejection

// Round robin with outlier detection ejecting after one failure (connect
// failures count against the same `consecutive_5xx` threshold), no cap on how
// many are out, and an ejection far longer than the test. A warm-up walks the
// cursor over all 200 endpoints, which ejects the 180 dead ones (some warm-up
// requests are 502s: 11 tries can all land in the dead run 10..99 or 110..199).
// From then on an ejected endpoint must be skipped without spending an attempt:
// no connect failure at all, and plain round robin over the 20 live ones.
//
// With the 64-bit mask, ejected endpoints at positions >= 64 were still
// picked: every pass of the cursor over 64..99 and 110..199 costs connect
// failures, and runs of 36 and 90 such endpoints exceed the 11 tries, so some
// requests even fail with 502.
TEST_F(LargeClusterTest, EjectedEndpointsBeyondPosition64GetNoTraffic) {
  ASSERT_NO_FATAL_FAILURE(make_cluster());
  const uint16_t http_port = free_loopback_port();
  const uint16_t tcp_port = free_loopback_port();
  ASSERT_GE(start_sluice("workers: 1\n" + admin_yaml() +
                         "listeners:\n"
                         "  - name: web\n"
                         "    listen: 127.0.0.1:" +
                         std::to_string(http_port) +
                         "\n"
                         "    protocol: http\n"
                         "    retries: { attempts: 10 }\n"
                         "    routes:\n"
                         "      - { match: { path_prefix: / }, cluster: c }\n"
                         "  - name: tcp\n"
                         "    listen: 127.0.0.1:" +
                         std::to_string(tcp_port) +
                         "\n"
                         "    protocol: tcp\n"
                         "    cluster: c\n"
                         "    retries: { attempts: 10 }\n"
                         "clusters:\n"
                         "  - name: c\n"
                         "    balancer: { type: round_robin }\n"
                         "    outlier_detection: { consecutive_5xx: 1, max_ejected_percent: 100,\n"
                         "                         base_ejection: 10m }\n"
                         "    endpoints:\n" +
                         endpoints_yaml(addresses_)),
            0);

  // Warm-up until the detector has ejected 180 endpoints. The ejection is
  // recorded before the request's retry or 502, so once the response is here
  // the counter says so. A correct proxy needs about 40 requests: 20 answered,
  // the rest 502s that each eject 11 dead endpoints. One connection per
  // request: a 502 closes the client connection.
  int warmup = 0;
  double ejections = 0;
  for (; warmup < 400 && ejections < 180; ++warmup) {
    HttpResponse r = HttpClient(http_port).get("/");
    ASSERT_TRUE(r.status == 200 || r.status == 502)
        << "warm-up request " << warmup << ": " << r.status << " " << r.error;
    ejections = cluster_metric("sluice_outlier_ejections_total");
  }
  ASSERT_EQ(ejections, 180) << "after " << warmup << " warm-up requests";
  std::printf("[ info ] warm-up: %d requests\n", warmup);

  std::string clusters_json;
  std::map<std::string, bool> ejected = ejected_by_address(&clusters_json);
  ASSERT_EQ(ejected.size(), static_cast<size_t>(kEndpoints)) << clusters_json;
  for (int i = 0; i < kEndpoints; ++i) {
    const std::string& a = addresses_[i];
    EXPECT_EQ(ejected[a], dead_.count(a) == 1)
        << "position " << i << " (" << a << ") " << (dead_.count(a) ? "dead" : "live");
  }

  const double failures_before = cluster_metric("sluice_upstream_connect_failures_total");
  const double retries_before = cluster_metric("sluice_upstream_retries_total");
  ASSERT_GE(failures_before, 180);

  // 200 requests on one keep-alive connection: round robin over the 20 live
  // endpoints alone is exactly 10 each, whatever position the cursor left the
  // warm-up at.
  HttpClient client(http_port);
  std::map<std::string, int> by_backend;
  int http_failed = 0;
  for (int i = 0; i < 200; ++i) {
    HttpResponse r = client.get("/");
    if (r.status != 200) {
      if (++http_failed <= 5)
        ADD_FAILURE() << "request " << i << ": " << r.status << " " << r.header("x-sluice-error")
                      << " " << r.error;
      continue;
    }
    ++by_backend[r.backend()];
  }
  EXPECT_EQ(http_failed, 0);
  for (const std::string& name : live_names_)
    EXPECT_EQ(by_backend[name], 10) << name << " in round robin over the live endpoints";
  EXPECT_EQ(by_backend.size(), live_names_.size());

  // The tcp relay skips the same ejected endpoints: 40 connections, two
  // rounds of the live ones, each reaching a live backend.
  std::map<std::string, int> tcp_by_backend;
  for (int i = 0; i < 40; ++i) ++tcp_by_backend[tcp_fetch_backend(tcp_port)];
  for (const std::string& name : live_names_)
    EXPECT_EQ(tcp_by_backend[name], 2) << name << " over tcp";
  EXPECT_EQ(tcp_by_backend.count(""), 0u) << tcp_by_backend[""] << " tcp connections failed";

  // Not one connect was attempted to an ejected endpoint.
  EXPECT_EQ(cluster_metric("sluice_upstream_connect_failures_total"), failures_before);
  EXPECT_EQ(cluster_metric("sluice_upstream_retries_total"), retries_before);
  // And nothing was ejected again (re-ejecting would double the ejection time).
  EXPECT_EQ(cluster_metric("sluice_outlier_ejections_total"), 180);
  ejected = ejected_by_address(&clusters_json);
  size_t ejected_now = 0;
  for (const std::string& a : dead_) ejected_now += ejected[a];
  EXPECT_EQ(ejected_now, dead_.size()) << clusters_json;
}

}  // namespace
}  // namespace sluice::testing
