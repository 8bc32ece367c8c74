// TLS from sluice to its upstreams, end to end: nginx as the TLS endpoint (it answers with its
// view of each connection: which one, resumed or not, SNI, ALPN, client certificate, PROXY
// address), sluice's http and tcp listeners in front. A pooled connection serves many requests
// over one handshake, a new connection resumes the last session, a certificate that does not
// verify (unknown CA, wrong name) is a 502 `upstream-tls` counted by reason, verify: false takes
// a self-signed certificate, mTLS, PROXY protocol in clear before the handshake, a TLS listener
// re-encrypting, and --validate on files that do not load.
#include <filesystem>

#include "tests/tls/nginx_tls_upstream.hpp"
#include "tests/tls/tls_fixture.hpp"

namespace sluice::testing {
namespace {

constexpr const char* kGet = "GET / HTTP/1.1\r\nHost: app\r\n\r\n";

class UpstreamTlsTest : public TlsTest {
 protected:
  UpstreamTlsTest() : up_cert_(pki_->leaf("up", "up.test", {"up.test"})) {}

  // An http listener (or tcp, `protocol`) to cluster c at `upstream` with `tls` (lines under
  // "    tls:"), `cluster_extra` more keys of the cluster.
  std::string config(uint16_t port, const std::string& upstream, const std::string& tls,
                     const std::string& cluster_extra = "", const std::string& protocol = "http") {
    const bool http = protocol == "http";
    return "workers: 1\n" + admin_yaml() + "listeners:\n  - name: web\n" +
           "    listen: 127.0.0.1:" + std::to_string(port) + "\n    protocol: " + protocol + "\n" +
           (http ? "    routes:\n      - { match: { path_prefix: / }, cluster: c }\n"
                 : "    cluster: c\n") +
           "clusters:\n  - name: c\n    endpoints: [ { address: " + upstream + " } ]\n" +
           cluster_extra + "    tls:\n" + tls;
  }
  // A second CA nobody trusts, in its own directory.
  std::unique_ptr<TestPki> stranger_pki() {
    std::filesystem::create_directories(dir_.path() + "/other");
    return std::make_unique<TestPki>(dir_.path() + "/other");
  }
  std::string trusted() { return "      sni: up.test\n      ca: " + pki_->ca_cert() + "\n"; }

  CertFiles up_cert_;
};

TEST_F(UpstreamTlsTest, RequestsReachATlsUpstreamOverOnePooledConnection) {
  NginxTlsUpstream nginx(dir_.path(), up_cert_);
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, nginx.address(), trusted())));
  std::string first_connection;
  for (int i = 0; i < 5; ++i) {
    // A new client connection each time: only sluice's pool can keep the upstream one.
    const Response r = fetch_once(port, kGet);
    ASSERT_EQ(r.status, 200) << r.raw_head << r.body;
    auto view = upstream_view(r.body);
    EXPECT_EQ(view["sni"], "up.test");
    EXPECT_EQ(view["alpn"], "http/1.1");  // the default for an http listener's cluster
    if (i == 0) first_connection = view["conn"];
    EXPECT_EQ(view["conn"], first_connection) << "request " << i << " took a new connection";
  }
  EXPECT_EQ(wait_metric("sluice_upstream_tls_handshakes_total{cluster=\"c\",resumed=\"false\"}", 1),
            1);
  EXPECT_EQ(scrape().get("sluice_upstream_tls_handshakes_total{cluster=\"c\",resumed=\"true\"}"),
            0);
}

TEST_F(UpstreamTlsTest, ABigBodyArrivesWholeOverManyRecords) {
  NginxTlsUpstream nginx(dir_.path(), up_cert_);
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, nginx.address(), trusted())));
  // Decrypted records are sliced on to the client like received buffers, twice in a row.
  for (int i = 0; i < 2; ++i) {
    const Response r = fetch_once(port, "GET /big HTTP/1.1\r\nHost: app\r\n\r\n");
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == NginxTlsUpstream::big_body()) << r.body.size() << " bytes";
  }
}

TEST_F(UpstreamTlsTest, ANewConnectionResumesTheEndpointsLastSession) {
  NginxTlsUpstream nginx(dir_.path(), up_cert_);
  const uint16_t port = free_loopback_port();
  // No idle connection is kept: every request needs a handshake.
  ASSERT_TRUE(
      start_sluice(config(port, nginx.address(), trusted(), "    pool: { max_idle: 0 }\n")));
  std::vector<std::string> reused;
  for (int i = 0; i < 3; ++i) {
    const Response r = fetch_once(port, kGet);
    ASSERT_EQ(r.status, 200) << r.body;
    reused.push_back(upstream_view(r.body)["reused"]);
  }
  EXPECT_EQ(reused[0], ".");  // nginx: "." for a full handshake, "r" for a resumed one
  EXPECT_EQ(reused[1], "r");
  EXPECT_EQ(reused[2], "r");
  EXPECT_EQ(wait_metric("sluice_upstream_tls_handshakes_total{cluster=\"c\",resumed=\"true\"}", 2),
            2);
  EXPECT_EQ(scrape().get("sluice_upstream_tls_handshakes_total{cluster=\"c\",resumed=\"false\"}"),
            1);
}

TEST_F(UpstreamTlsTest, SessionReuseOffMeansAFullHandshakeEachTime) {
  NginxTlsUpstream nginx(dir_.path(), up_cert_);
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, nginx.address(), trusted() + "      session_reuse: false\n",
                                  "    pool: { max_idle: 0 }\n")));
  for (int i = 0; i < 3; ++i) {
    const Response r = fetch_once(port, kGet);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(upstream_view(r.body)["reused"], "r");
  }
  EXPECT_EQ(wait_metric("sluice_upstream_tls_handshakes_total{cluster=\"c\",resumed=\"false\"}", 3),
            3);
}

TEST_F(UpstreamTlsTest, ACertificateThatDoesNotVerifyIsA502WithItsReason) {
  const auto other = stranger_pki();
  NginxTlsUpstream nginx(dir_.path(), other->leaf("stranger", "up.test", {"up.test"}));
  NginxTlsUpstream named(dir_.path(), pki_->leaf("named", "elsewhere.test", {"elsewhere.test"}));
  const uint16_t port = free_loopback_port();
  const uint16_t port2 = free_loopback_port();
  // Unknown CA.
  ASSERT_TRUE(start_sluice(config(port, nginx.address(), trusted())));
  Response r = fetch_once(port, kGet);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.header("x-sluice-error").value_or(""), "upstream-tls");
  EXPECT_EQ(wait_metric(
                "sluice_upstream_tls_handshake_failures_total{cluster=\"c\",reason=\"verify\"}", 1),
            1);
  sluice().stop();
  sluice_.reset();
  // Trusted CA, wrong name.
  ASSERT_TRUE(start_sluice(config(port2, named.address(), trusted())));
  r = fetch_once(port2, kGet);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.header("x-sluice-error").value_or(""), "upstream-tls");
  EXPECT_EQ(wait_metric(
                "sluice_upstream_tls_handshake_failures_total{cluster=\"c\",reason=\"verify\"}", 1),
            1);
  EXPECT_EQ(scrape().get("sluice_upstream_tls_handshakes_total{cluster=\"c\",resumed=\"false\"}"),
            0);
}

TEST_F(UpstreamTlsTest, VerifyFalseTakesASelfSignedCertificate) {
  const auto other = stranger_pki();
  NginxTlsUpstream nginx(dir_.path(), other->leaf("stranger", "whatever", {"whatever.test"}));
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, nginx.address(), "      verify: false\n")));
  const Response r = fetch_once(port, kGet);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(upstream_view(r.body)["sni"], "");  // an IP endpoint: no SNI by default
  // Said once at load.
  EXPECT_EQ(count_occurrences(sluice().stderr_text(), "are not checked"), 1u)
      << sluice().stderr_text();
}

TEST_F(UpstreamTlsTest, AClientCertificateReachesAnUpstreamThatRequiresOne) {
  NginxTlsOptions options;
  options.client_ca = pki_->ca_cert();
  NginxTlsUpstream nginx(dir_.path(), up_cert_, options);
  const CertFiles client = pki_->leaf("client", "sluice", {}, false, /*client=*/true);
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, nginx.address(),
                                  trusted() + "      client_certificate: { cert: " + client.cert +
                                      ", key: " + client.key + " }\n")));
  const Response r = fetch_once(port, kGet);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(upstream_view(r.body)["client"], "CN=sluice");
}

TEST_F(UpstreamTlsTest, WithoutTheClientCertificateTheUpstreamRefuses) {
  NginxTlsOptions options;
  options.client_ca = pki_->ca_cert();
  NginxTlsUpstream nginx(dir_.path(), up_cert_, options);
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, nginx.address(), trusted())));
  // nginx finishes the handshake and answers 400 itself ("No required SSL certificate").
  const Response r = fetch_once(port, kGet);
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(UpstreamTlsTest, ATcpListenerReencryptsTowardsTheUpstream) {
  NginxTlsUpstream nginx(dir_.path(), up_cert_);
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, nginx.address(), trusted(), "", "tcp")));
  const Response r = fetch_once(port, "GET / HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(r.status, 200) << r.body;
  auto view = upstream_view(r.body);
  EXPECT_EQ(view["sni"], "up.test");
  EXPECT_EQ(view["alpn"], "");  // a tcp listener's bytes need not be HTTP: no ALPN by default
  const Response big =
      fetch_once(port, "GET /big HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(big.body == NginxTlsUpstream::big_body()) << big.body.size() << " bytes";
  EXPECT_EQ(wait_sum("sluice_upstream_tls_handshakes_total", {{"cluster", "c"}}, 2), 2);
}

TEST_F(UpstreamTlsTest, APlainUpstreamIsATlsFailureForATcpListenerToo) {
  const uint16_t port = free_loopback_port();
  // upstream_: the fixture's plain HTTP echo server.
  ASSERT_TRUE(start_sluice(config(port, upstream_->address(), trusted(), "", "tcp")));
  Socket client = connect_loopback(port, Millis(2000));
  ASSERT_TRUE(client.valid());
  EXPECT_GE(wait_sum("sluice_upstream_tls_handshake_failures_total", {{"cluster", "c"}}, 1), 1);
}

TEST_F(UpstreamTlsTest, TheProxyHeaderGoesFirstInTheClearThenTheHandshake) {
  NginxTlsOptions options;
  options.proxy_protocol = true;
  NginxTlsUpstream nginx(dir_.path(), up_cert_, options);
  const uint16_t port = free_loopback_port();
  ASSERT_TRUE(start_sluice(config(port, nginx.address(), trusted(), "    proxy_protocol: v2\n")));
  const Response r = fetch_once(port, kGet);
  ASSERT_EQ(r.status, 200) << r.body;
  auto view = upstream_view(r.body);
  EXPECT_EQ(view["proxied"], "127.0.0.1");
  EXPECT_EQ(view["sni"], "up.test");
}

TEST_F(UpstreamTlsTest, ATlsListenerTerminatesAndReencrypts) {
  NginxTlsUpstream nginx(dir_.path(), up_cert_);
  const CertFiles edge = pki_->leaf("edge", "a.test", {"a.test"});
  const uint16_t port = free_loopback_port();
  std::string yaml = config(port, nginx.address(), trusted());
  const std::string listener = "    protocol: http\n";
  yaml.insert(yaml.find(listener) + listener.size(),
              "    tls:\n      certificates:\n        - { cert: " + edge.cert +
                  ", key: " + edge.key + " }\n");
  ASSERT_TRUE(start_sluice(yaml));
  const CommandResult r = curl(port, "a.test", "/");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("sni=up.test"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("proto=TLSv1.3"), std::string::npos) << r.output;
}

TEST_F(UpstreamTlsTest, ValidateLoadsTheFilesAndRefusesHttpChecks) {
  const std::string missing = dir_.write("missing.yaml", config(free_loopback_port(), "127.0.0.1:1",
                                                                "      ca: /nonexistent/ca.pem\n"));
  CommandResult r = run_command(obs_sluice_binary() + " --validate " + missing);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("missing.yaml:13:11: cannot load the CA bundle /nonexistent/ca.pem"),
            std::string::npos)
      << r.output;
  const CertFiles a = pki_->leaf("a", "a", {"a.test"}, false, true);
  const CertFiles b = pki_->leaf("b", "b", {"b.test"}, false, true);
  const std::string mismatch = dir_.write(
      "mismatch.yaml",
      config(free_loopback_port(), "127.0.0.1:1",
             "      client_certificate: { cert: " + a.cert + ", key: " + b.key + " }\n"));
  r = run_command(obs_sluice_binary() + " --validate " + mismatch);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("mismatch.yaml:13:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("does not match the certificate"), std::string::npos) << r.output;
  const std::string checked = dir_.write(
      "checked.yaml", config(free_loopback_port(), "127.0.0.1:1", "      verify: false\n",
                             "    health_check: { http: { path: /healthz } }\n"));
  r = run_command(obs_sluice_binary() + " --validate " + checked);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("checked.yaml:12:5: clusters[0].health_check: an http check of a "
                          "cluster with tls is not supported yet"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace sluice::testing
