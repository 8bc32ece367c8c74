// The PROXY protocol against other implementations: HAProxy's send-proxy and send-proxy-v2 in
// front of sluice, curl --haproxy-protocol, and sluice sending v1 and v2 to HAProxy's
// accept-proxy, which answers with the client address it learned (%[src]). The test's client
// connects from 127.0.0.2 so the address that arrives can only have come from a header.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/http_integration/upstream.hpp"
#include "tests/observability/obs_fixture.hpp"
#include "tests/proxy_protocol/pp_util.hpp"
#include "tests/support/tls_certs.hpp"

namespace sluice::testing {
namespace {

class ProxyProtocolInterop : public ObsTest {
 protected:
  // Runs HAProxy on `config` (its ports on 127.0.0.1) until the test ends; waits until
  // `port` accepts.
  bool start_haproxy(const std::string& config, uint16_t port) {
    const std::string path = dir_.write("haproxy.cfg",
                                        "global\n  maxconn 200\n"
                                        "defaults\n  timeout connect 2s\n  timeout client 10s\n"
                                        "  timeout server 10s\n" +
                                            config);
    haproxy_ = Process::spawn({"/usr/sbin/haproxy", "-f", path, "-db"}, dir_.path(), "haproxy");
    if (!wait_port_accepts(port, Millis(10000))) {
      ADD_FAILURE() << "haproxy did not come up\n" << haproxy_->describe();
      return false;
    }
    return true;
  }

  void TearDown() override {
    if (haproxy_) haproxy_->stop(Millis(5000));
    ObsTest::TearDown();
  }

  // A scripted upstream answering each request with its X-Forwarded-For as the body.
  void start_xff_upstream() {
    upstream_ = std::make_unique<Upstream>([](UpstreamConn& c) {
      while (auto r = c.read_request()) {
        const std::string xff = r->header("X-Forwarded-For").value_or("<none>");
        if (!c.write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(xff.size()) +
                     "\r\n\r\n" + xff))
          return;
      }
    });
  }

  std::string sluice_http(uint16_t port, const std::string& cluster_address,
                          const std::string& cluster_extra = "",
                          const std::string& listener_extra = "") {
    return "workers: 1\n" + admin_yaml() +
           "listeners:\n  - name: web\n    listen: 127.0.0.1:" + std::to_string(port) +
           "\n    protocol: http\n" + listener_extra +
           "    routes: [{ match: { path_prefix: / }, cluster: app }]\n"
           "clusters:\n  - name: app\n    endpoints: [{ address: " +
           cluster_address + " }]\n" + cluster_extra;
  }

  std::optional<Process> haproxy_;
  std::unique_ptr<Upstream> upstream_;
};

TEST_F(ProxyProtocolInterop, HaproxySendProxyV1AndV2InFrontOfSluice) {
  for (const char* send : {"send-proxy", "send-proxy-v2"}) {
    SCOPED_TRACE(send);
    start_xff_upstream();
    const uint16_t sluice_port = free_loopback_port();
    ASSERT_TRUE(start_sluice(sluice_http(sluice_port, upstream_->address(), "",
                                         "    proxy_protocol: { trusted: [127.0.0.1] }\n")));
    const uint16_t front = free_loopback_port();
    ASSERT_TRUE(start_haproxy("frontend fe\n  mode tcp\n  bind 127.0.0.1:" + std::to_string(front) +
                                  "\n  default_backend be\n"
                                  "backend be\n  mode tcp\n  server s 127.0.0.1:" +
                                  std::to_string(sluice_port) + " " + send + "\n",
                              front));
    HttpClient client(connect_from("127.0.0.2", front));
    Response r = roundtrip(client, request("GET", "/"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "127.0.0.2");
    // A direct connection from 127.0.0.2 is not trusted.
    Socket direct = connect_from("127.0.0.2", sluice_port);
    std::string answer;
    exchange(direct, proxy_header("198.51.100.9", 1, sluice_port) + request("GET", "/"), &answer,
             Millis(3000));
    EXPECT_EQ(answer, "");
    haproxy_->stop(Millis(5000));
    haproxy_.reset();
    EXPECT_TRUE(sluice().stop(Millis(10000)).success());
    sluice_.reset();
  }
}

// A TLS listener behind a TCP balancer: the PROXY header, then the handshake on the same
// connection. The client's address comes from the header, its TLS facts from the handshake.
TEST_F(ProxyProtocolInterop, HaproxySendProxyV2InFrontOfATlsListener) {
  start_xff_upstream();
  TestPki pki(dir_.path());
  const CertFiles cert = pki.leaf("edge", "edge.test", {"edge.test"});
  const uint16_t sluice_port = free_loopback_port();
  ASSERT_TRUE(start_sluice(sluice_http(sluice_port, upstream_->address(), "",
                                       "    proxy_protocol: { trusted: [127.0.0.1], timeout: 2s }\n"
                                       "    tls: { certificates: [{ cert: " +
                                           cert.cert + ", key: " + cert.key + " }] }\n")));
  const uint16_t front = free_loopback_port();
  ASSERT_TRUE(start_haproxy("frontend fe\n  mode tcp\n  bind 127.0.0.1:" + std::to_string(front) +
                                "\n  default_backend be\n"
                                "backend be\n  mode tcp\n  server s 127.0.0.1:" +
                                std::to_string(sluice_port) + " send-proxy-v2\n",
                            front));
  const std::string url = "https://edge.test:" + std::to_string(front) + "/";
  const CommandResult through =
      run_command("curl -sS --max-time 5 --cacert " + pki.ca_cert() +
                  " --interface 127.0.0.2 --resolve edge.test:" + std::to_string(front) +
                  ":127.0.0.1 " + url + " 2>&1");
  EXPECT_EQ(through.status, 0) << through.output;
  EXPECT_EQ(through.output, "127.0.0.2");
  // curl's own header in front of its handshake.
  const CommandResult direct =
      run_command("curl -sS --max-time 5 --haproxy-protocol --cacert " + pki.ca_cert() +
                  " --resolve edge.test:" + std::to_string(sluice_port) +
                  ":127.0.0.1 https://edge.test:" + std::to_string(sluice_port) + "/ 2>&1");
  EXPECT_EQ(direct.status, 0) << direct.output;
  EXPECT_EQ(direct.output, "127.0.0.1");
  // A handshake without a header first is a malformed header, not a TLS client.
  const CommandResult bare =
      run_command("curl -sS --max-time 5 --cacert " + pki.ca_cert() +
                  " --resolve edge.test:" + std::to_string(sluice_port) +
                  ":127.0.0.1 https://edge.test:" + std::to_string(sluice_port) + "/ 2>&1");
  EXPECT_NE(bare.status, 0) << bare.output;
  EXPECT_EQ(scrape().sum("sluice_downstream_proxy_protocol_refused_total",
                         {{"listener", "web"}, {"reason", "malformed"}}),
            1);
  EXPECT_EQ(scrape().sum("sluice_tls_handshakes_total", {{"listener", "web"}}), 2);
}

TEST_F(ProxyProtocolInterop, CurlHaproxyProtocol) {
  start_xff_upstream();
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(sluice_http(port, upstream_->address(), "",
                                       "    proxy_protocol: { trusted: [127.0.0.1] }\n")));
  const std::string command =
      "curl -sS --max-time 5 --haproxy-protocol http://127.0.0.1:" + std::to_string(port) +
      "/ 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[256];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  EXPECT_EQ(::pclose(pipe), 0) << output;
  EXPECT_EQ(output, "127.0.0.1");  // curl's header names its own address
  EXPECT_EQ(scrape().sum("sluice_downstream_proxy_protocol_refused_total", {{"listener", "web"}}),
            0);
}

// HAProxy with accept-proxy, answering "src=<client>" from what the header said.
std::string accept_proxy_frontend(uint16_t port) {
  return "frontend fe\n  mode http\n  bind 127.0.0.1:" + std::to_string(port) +
         " accept-proxy\n"
         "  http-request return status 200 content-type text/plain lf-string "
         "\"src=%[src]:%[src_port] dst=%[dst]\"\n";
}

TEST_F(ProxyProtocolInterop, SluiceSendsV1AndV2ToHaproxyAcceptProxy) {
  const uint16_t behind = free_loopback_port();
  ASSERT_TRUE(start_haproxy(accept_proxy_frontend(behind), behind));
  for (const char* version : {"v1", "v2"}) {
    SCOPED_TRACE(version);
    const uint16_t port = free_loopback_port();
    ASSERT_TRUE(start_sluice(sluice_http(port, "127.0.0.1:" + std::to_string(behind),
                                         std::string("    proxy_protocol: ") + version + "\n",
                                         "    proxy_protocol: { trusted: [127.0.0.0/8] }\n")));
    // Two clients behind one balancer, each with two requests on its connection: every
    // request reaches HAProxy with its own client, never another's.
    {
      HttpClient first(connect_from("127.0.0.2", port));
      HttpClient second(connect_from("127.0.0.3", port));
      ASSERT_TRUE(first.send(proxy_header("198.51.100.7", 40007, port)));
      ASSERT_TRUE(second.send(proxy_header("2001:db8::8", 40008, port, /*v2=*/true)));
      for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(roundtrip(first, request("GET", "/")).body,
                  "src=198.51.100.7:40007 dst=127.0.0.1");
        EXPECT_EQ(roundtrip(second, request("GET", "/")).body, "src=2001:db8::8:40008 dst=::1");
      }
      // Each client's upstream connection waits for that client's next request...
      EXPECT_EQ(wait_sum("sluice_upstream_connections_active", {{"cluster", "app"}}, 2), 2);
    }
    // ...and goes with it.
    EXPECT_EQ(wait_sum("sluice_upstream_connections_active", {{"cluster", "app"}}, 0), 0);
    EXPECT_TRUE(sluice().stop(Millis(10000)).success());
    sluice_.reset();
  }
}

TEST_F(ProxyProtocolInterop, ATcpListenerSendsV2ToHaproxyAcceptProxy) {
  const uint16_t behind = free_loopback_port();
  ASSERT_TRUE(start_haproxy(accept_proxy_frontend(behind), behind));
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(
      start_sluice("workers: 1\n" + admin_yaml() +
                   "listeners:\n  - { name: raw, listen: 127.0.0.1:" + std::to_string(port) +
                   ", protocol: tcp, cluster: app }\n"
                   "clusters:\n  - name: app\n    proxy_protocol: v2\n"
                   "    endpoints: [{ address: 127.0.0.1:" +
                   std::to_string(behind) + " }]\n"));
  HttpClient client(connect_from("127.0.0.2", port));
  Response r = roundtrip(client, request("GET", "/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.substr(0, 14), "src=127.0.0.2:");
  EXPECT_EQ(r.body.substr(r.body.size() - 14), " dst=127.0.0.1");
}

}  // namespace
}  // namespace sluice::testing
