// 100 certificate reloads while clients hold HTTPS keep-alive connections and others open new
// ones all the time (wrk, one of them sending Connection: close so every request is a new
// handshake): no handshake fails, no connection drops, every answer is a 200. A reload swaps
// the listener's contexts for new handshakes; open connections keep theirs.
#include <signal.h>

#include <chrono>
#include <regex>
#include <thread>

#include "tests/tls/tls_fixture.hpp"

namespace sluice::testing {
namespace {

struct WrkReport {
  long requests = -1;
  long socket_errors = 0;  // connect + read + write + timeout
  long non_2xx = 0;
  std::string text;
};

WrkReport parse_wrk(const std::string& text) {
  WrkReport report;
  report.text = text;
  std::smatch m;
  if (std::regex_search(text, m, std::regex("(\\d+) requests in")))
    report.requests = std::stol(m[1]);
  if (std::regex_search(text, m,
                        std::regex("Socket errors: connect (\\d+), read (\\d+), write (\\d+), "
                                   "timeout (\\d+)")))
    for (int i = 1; i <= 4; ++i) report.socket_errors += std::stol(m[i]);
  if (std::regex_search(text, m, std::regex("Non-2xx or 3xx responses: (\\d+)")))
    report.non_2xx = std::stol(m[1]);
  return report;
}

class TlsReloadUnderLoadTest : public TlsTest {
 protected:
  Process wrk(uint16_t port, int connections, const std::string& label,
              const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {
        "/usr/bin/wrk", "-t1", "-c" + std::to_string(connections), "-d120s", "--timeout", "5s"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("https://127.0.0.1:" + std::to_string(port) + "/");
    return Process::spawn(argv, dir_.path(), label);
  }
  // wrk prints its report when interrupted.
  WrkReport finish(Process& p) {
    ::kill(p.pid(), SIGINT);
    EXPECT_TRUE(p.wait(Millis(10000)).success()) << p.describe();
    return parse_wrk(p.stdout_text());
  }
};

TEST_F(TlsReloadUnderLoadTest, AHundredCertificateReloadsFailNoHandshakeAndDropNoConnection) {
  const uint16_t port = free_loopback_port();
  const CertFiles one = pki_->leaf("one", "one", {"one.test"});
  const CertFiles two = pki_->leaf("two", "two", {"two.test"}, /*rsa=*/true);
  auto with = [&](const CertFiles& c) {
    return config(port,
                  "      certificates:\n        - { cert: " + c.cert + ", key: " + c.key + " }\n",
                  upstream_->address());
  };
  ASSERT_TRUE(start_sluice(with(one)));
  Process held = wrk(port, 16, "wrk-keepalive");
  Process fresh = wrk(port, 2, "wrk-handshakes", {"-H", "Connection: close"});
  // Both are at work before the first reload.
  const double before = wait_sum("sluice_tls_handshakes_total", {{"listener", "web"}}, 40);
  ASSERT_GE(before, 40);
  // wrk's own probe (a TCP connect it closes at once, to pick an address) counts as "closed".
  const double failed_before =
      scrape().sum("sluice_tls_handshake_failures_total", {{"listener", "web"}});

  std::string served;
  for (int i = 0; i < 100; ++i) {
    write_config(with(i % 2 == 0 ? two : one));
    ASSERT_EQ(admin("POST", "/reload").status, 200) << "reload " << i;
    if (i % 25 == 24) served += served_cn(port, "") + " ";  // the new certificate is live
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(served, "two one two one ");
  const MetricSet after = scrape();
  EXPECT_EQ(after.sum("sluice_tls_handshake_failures_total", {{"listener", "web"}}), failed_before)
      << [&] {
           std::string all;
           for (const std::string& series : after.series_of("sluice_tls_handshake_failures_total"))
             all += series + " = " + std::to_string(after.get(series)) + "\n";
           return all;
         }();
  const double handshakes = after.sum("sluice_tls_handshakes_total", {{"listener", "web"}});
  RecordProperty("handshakes_during_reloads", std::to_string(handshakes - before));
  EXPECT_GT(handshakes - before, 100) << "new handshakes did not go on during the reloads";

  const WrkReport kept = finish(held);
  const WrkReport renewed = finish(fresh);
  RecordProperty("keepalive_requests", std::to_string(kept.requests));
  RecordProperty("close_requests", std::to_string(renewed.requests));
  // A connection closed under wrk counts as a read error: none of the 16 kept ones was.
  for (const WrkReport* r : {&kept, &renewed}) {
    EXPECT_GT(r->requests, 0) << r->text;
    EXPECT_EQ(r->socket_errors, 0) << r->text;
    EXPECT_EQ(r->non_2xx, 0) << r->text;
  }
}

}  // namespace
}  // namespace sluice::testing
